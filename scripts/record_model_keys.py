"""Record the store keys of the given scenarios in tests/data/model_keys.json.

    python scripts/record_model_keys.py scenarios/paper_table3_trained.toml scenarios/mnist_8bit.toml

Run it after adding a codec (or seeds) to a scenario, so that tests/test_model_identity.py
checks the new entries too. It refuses to record a key that differs from the key the same
model has in scenarios/paper_table3.toml (the complete target, whose models are the ones
trained and shipped), and it never changes a key already recorded: a changed key would
orphan a trained model, and must be a deliberate edit of the file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import test_model_identity  # noqa: E402  (the keys the test checks, under its fixed data identity)

RECORD = REPO / "tests" / "data" / "model_keys.json"
TARGET = "scenarios/paper_table3.toml"
#: scenarios that must use models of TARGET only (the committed table and the main job)
SHARING_TARGET_MODELS = ("scenarios/paper_table3_trained.toml", "scenarios/mnist_8bit.toml")


def scenario_keys(path: str) -> dict[str, str]:
    return test_model_identity.scenario_keys(REPO / path)


def main(paths: list[str]) -> None:
    recorded = json.loads(RECORD.read_text())
    target = set(scenario_keys(TARGET).values())
    for path in paths:
        keys = scenario_keys(path)
        old = recorded.get(path, {})
        changed = {n: (old[n], k) for n, k in keys.items() if n in old and old[n] != k}
        if changed:
            sys.exit(f"{path}: recorded keys would change {changed}; edit {RECORD.name} by hand if this is deliberate")
        if path in SHARING_TARGET_MODELS:
            stray = {n: k for n, k in keys.items() if n != "classifier" and k not in target}
            if stray:
                sys.exit(f"{path}: these models are not models of {TARGET}: {stray}")
        recorded[path] = keys
        print(f"{path}: {len(keys)} keys ({len(set(keys) - set(old))} new)")
    RECORD.write_text(json.dumps(dict(sorted(recorded.items())), indent=1) + "\n")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
