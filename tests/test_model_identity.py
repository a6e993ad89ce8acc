"""Store keys are stable: every codec of every shipped scenario keeps the key its models were trained under.

``tests/data/model_keys.json`` records, per scenario file, the key of the classifier and of
each codec, computed with a fixed data identity. A change to how specs are built (a new
config field, a refactor) that changes any of them would orphan trained and shipped
models; such a change must be deliberate, with the file regenerated and the models
re-keyed (see semcom.models.store).
"""

import json
from pathlib import Path

import pytest

from semcom.app.scenario import load_scenario
from semcom.models.store import spec_key
from semcom.models.zoo import TrainingData, classifier_spec, codec_spec

REPO = Path(__file__).resolve().parents[1]
RECORDED = json.loads((REPO / "tests" / "data" / "model_keys.json").read_text())
DATA = TrainingData(None, None, None, None, {"dataset": "mnist", "n_images": 60000, "images_sha256": "fixed",
                                             "val_fraction": 0.2, "split_seed": 0})


def scenario_keys(path: Path) -> dict[str, str]:
    """The store key of a scenario's classifier and of each codec, under DATA (also what
    scripts/record_model_keys.py records)."""
    s = load_scenario(path)
    keys = {"classifier": spec_key(classifier_spec(s.classifier, DATA))}
    keys.update({c.name: spec_key(codec_spec(c, DATA, "clf-key")) for c in s.codec_list})
    return keys


@pytest.mark.parametrize("scenario", sorted(RECORDED))
def test_every_model_keeps_its_recorded_store_key(scenario):
    assert scenario_keys(REPO / scenario) == RECORDED[scenario]


def test_the_main_job_uses_the_seed_0_models_of_the_table3_reproduction():
    main = load_scenario(REPO / "scenarios" / "mnist_8bit.toml")
    table = load_scenario(REPO / "scenarios" / "paper_table3.toml")
    seed0 = {c.name.removesuffix("-s0"): spec_key(codec_spec(c, DATA, "k")) for c in table.codec_list
             if c.name.endswith("-s0")}
    main_keys = {c.name: spec_key(codec_spec(c, DATA, "k")) for c in main.codec_list}
    assert main_keys and main_keys.items() <= seed0.items()


def test_checking_a_scenario_imports_neither_torch_nor_training_code():
    import subprocess
    import sys

    code = ("import sys; from semcom.app.scenario import load_scenario; "
            "[load_scenario(f) for f in ('scenarios/frontier_8bit.toml', 'scenarios/compare_8bit.toml')]; s = load_scenario('scenarios/paper_table3.toml'); [c.symbol_format for c in s.codec_list]; "
            "[c.train_config('cpu', 0) for c in s.codec_list]; "
            "bad = [m for m in sys.modules if m == 'torch' or m.startswith(('semcom.models.training.codec', "
            "'semcom.models.training.adversarial', 'semcom.models.training.classifier'))]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_readme_parameter_reference_matches_the_declarations():
    from semcom.app.reference import parameter_reference, readme_section

    section = readme_section((REPO / "README.md").read_text())
    assert section is not None, "README lacks the generated parameter section"
    assert section == parameter_reference(), "README is stale: run python -m semcom.app.reference --update README.md"
    assert "`ebn0_db`" in section and "`p_good_to_bad`" in section and "`deadline`" in section
