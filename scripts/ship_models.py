"""Ship trained models: a half-precision copy in the package's weights or the repository's model store.

    python scripts/ship_models.py SCENARIO NAME [NAME ...] --data DIR --to {weights,models} [--commit]

NAME is a codec of SCENARIO (as ``semcom train --only`` names it) or ``classifier``. Each
model is read in float32 from the scenario's store, evaluated on the official test set in
float32 and in float16, and copied in float16 (ten float32 codecs would not fit the 25 MiB
budget). The shipped float16 model is the model: every number semcom reports comes from it;
both evaluations are written into its card (``half_precision_of``), so the effect of the
rounding (a few test images of 10,000, far inside the training-seed spread) stays visible. ``--to weights`` is
``semcom/weights/`` (the defaults the main job needs, within the 25 MiB budget);
``--to models`` is the repository's ``models/`` store, which the reference scenarios read
(``[store] also``). With ``--commit`` the copied files are committed at once, so a later
session never trains the model again.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from semcom.app.runner import prepare_data  # noqa: E402
from semcom.app.scenario import load_scenario  # noqa: E402
from semcom.models.store import ModelStore, shipped_root  # noqa: E402
from semcom.models.training.classifier import evaluate_classifier  # noqa: E402
from semcom.models.training.analog import evaluate_analog  # noqa: E402
from semcom.models.training.codec import evaluate_codec  # noqa: E402
from semcom.models.families import family_of  # noqa: E402
from semcom.models.zoo import _load, classifier_spec, codec_spec, stored_classifier  # noqa: E402

DESTINATIONS = {"weights": shipped_root(), "models": REPO / "models"}


def _half(state: dict) -> dict:
    return {k: v.half().float() if v.is_floating_point() else v for k, v in state.items()}


def _same_printed(a: dict, b: dict) -> bool:
    return all(f"{100 * a[k]:.2f}" == f"{100 * b[k]:.2f}" if k == "accuracy" else f"{a[k]:.4f}" == f"{b[k]:.4f}"
               for k in a)


def test_metrics(model, family, classifier, test_x, test_y) -> dict:
    """Test-set accuracy (and MSE for codecs) the way training reports them; analog codecs at their training SNR."""
    if family is None:
        return {"accuracy": evaluate_classifier(model.eval(), test_x, test_y)}
    if not family.digital:
        return evaluate_analog(model.eval(), test_x, test_y, classifier, snr_db=model.config.train_snr_db)
    return evaluate_codec(model.eval(), test_x, test_y, classifier)


def half_precision_copy(name: str, stored, state: dict, card: dict, family, dest: ModelStore, classifier,
                        test_x, test_y):
    """Copy a float32 model into ``dest`` in float16, with its float32 and float16 test metrics in the card.

    ``family`` is the codec family (None: the classifier itself)."""
    def measure(st: dict) -> dict:
        model = type(classifier)() if family is None else family.empty(card["spec"])
        _load(model, st, card)
        return test_metrics(model, family, classifier, test_x, test_y)

    full, half = measure(state), measure(_half(state))
    check = {f"test_{k}_float32": v for k, v in full.items()} | {f"test_{k}_float16": v for k, v in half.items()}
    if not _same_printed(full, half):
        print(f"{name}: float16 moves a printed number ({full} -> {half}); the shipped float16 model is "
              f"the model: its numbers are the ones reported, the card keeps both")
    copy = dest.save_half_precision(stored, state, check)
    print(f"{name}: {copy.key} -> {copy.weights} ({copy.card['weights_dtype']}); "
          + ", ".join(f"{k} {v:.6f}" for k, v in check.items()), flush=True)
    return copy


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario")
    ap.add_argument("names", nargs="+")
    ap.add_argument("--data", required=True)
    ap.add_argument("--to", choices=sorted(DESTINATIONS), required=True)
    ap.add_argument("--commit", action="store_true")
    args = ap.parse_args(argv)
    scenario = load_scenario(args.scenario)
    root = scenario.resolve(scenario.store.path)
    source = ModelStore(root, use_shipped=False) if root is not None else ModelStore(use_shipped=False)
    dest = ModelStore(DESTINATIONS[args.to], use_shipped=False)
    _, data, test_x, test_y = prepare_data(scenario, args.data)
    test_y = torch.from_numpy(test_y)
    found = stored_classifier(scenario.classifier, data, ModelStore(source.root, also=[REPO / "models"]))
    if found is None:
        raise SystemExit("the scenario's classifier is not stored: train it first (semcom train)")
    classifier, clf_card = found
    sections = {s.name: s for s in scenario.codec_list}
    written: list[Path] = []
    for name in args.names:
        if name == "classifier":
            spec = classifier_spec(scenario.classifier, data)
        elif name in sections:
            spec = codec_spec(sections[name], data, clf_card["key"])
        else:
            raise SystemExit(f"{name}: not a codec of {args.scenario} (nor 'classifier')")
        shipped = dest.find(spec)
        if shipped is not None and shipped.card.get("weights_dtype") == "float16":
            print(f"{name}: already shipped in {dest.root}")
            continue
        loaded = source.load_state(spec)
        if loaded is None:
            raise SystemExit(f"{name}: not in {source.root}; train it first (semcom train --only {name})")
        state, card = loaded
        if card.get("weights_dtype", "float32") != "float32":
            print(f"{name}: already {card['weights_dtype']} in {source.root}; copying as it is")
        stored = source.find(spec)
        family = None if name == "classifier" else family_of(sections[name].family)
        copy = half_precision_copy(name, stored, state, card, family, dest, classifier, test_x, test_y)
        if stored.weights.parent.resolve() != dest.root.resolve() \
                and stored.weights.parent.resolve() == (REPO / "models").resolve():
            stored.weights.unlink()
            (stored.weights.parent / f"{stored.key}.json").unlink()
            written += [stored.weights, stored.weights.parent / f"{stored.key}.json"]
        elif stored.weights != copy.weights:  # converted in place: the float32 file is gone
            written.append(stored.weights)
        written += [copy.weights, copy.weights.parent / f"{copy.key}.json"]
    if args.commit and written:  # never a bare `git commit`: it would take whatever else is staged
        written = [Path(os.path.abspath(p)) for p in written]
        tracked = set(subprocess.run(["git", "ls-files", "--", *map(str, written)], cwd=REPO, capture_output=True,
                                     text=True, check=True).stdout.split())
        paths = [str(p) for p in written if p.exists() or str(p.relative_to(REPO)) in tracked]
        subprocess.run(["git", "add", "-A", "--", *paths], cwd=REPO, check=True)
        subprocess.run(["git", "commit", "-q", "-m", f"models: ship {', '.join(args.names)} ({args.to}, trained by "
                        f"{Path(args.scenario).name})", "--", *paths], cwd=REPO, check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
