"""Run a scenario end to end: data -> models -> evaluation -> results folder.

This is the library entry point behind ``semcom run``; notebooks call
:func:`run_scenario` directly.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import channels
from semcom import __version__
from semcom.data import load_dataset, train_val_split
from semcom.evaluation import CodecUnderTest, Evaluation, evaluate
from semcom.plots import draw_run
from semcom.progress import log
from semcom.results import create_run_dir, summary_markdown, write_csv, write_json
from semcom.scenario import Scenario
from semcom.store import ModelStore, file_sha256
from semcom.training.common import resolve_device
from semcom.zoo import TrainingData, obtain_classifier, obtain_codec


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    rows: list[dict]
    evaluation: Evaluation


def prepare_data(scenario: Scenario, data_path: str | Path | None = None):
    ds_cfg = scenario.dataset
    path = Path(data_path) if data_path is not None else scenario.resolve(ds_cfg.path)
    dataset = load_dataset(ds_cfg.name, path=path)
    images, labels = dataset.train_images, dataset.train_labels
    if ds_cfg.train_limit:
        if ds_cfg.train_limit > len(images):
            log(f"note: dataset.train_limit={ds_cfg.train_limit} but only {len(images)} training images exist; using all")
        images, labels = images[: ds_cfg.train_limit], labels[: ds_cfg.train_limit]
    train_idx, val_idx = train_val_split(len(images), ds_cfg.val_fraction, ds_cfg.split_seed)
    split = {"val_fraction": ds_cfg.val_fraction, "split_seed": ds_cfg.split_seed}
    data = TrainingData.from_arrays(ds_cfg.name, images, labels, train_idx, val_idx, split)
    test_x, test_y = dataset.test_images, dataset.test_labels
    if ds_cfg.test_limit:
        test_x, test_y = test_x[: ds_cfg.test_limit], test_y[: ds_cfg.test_limit]
    test_images = torch.from_numpy(np.ascontiguousarray(test_x)).float().div_(255.0).unsqueeze(1)
    return dataset, data, test_images, np.asarray(test_y, dtype=np.int64)


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def run_scenario(
    scenario: Scenario,
    *,
    data_path: str | Path | None = None,
    results_root: str | Path | None = None,
    store: ModelStore | None = None,
    retrain: bool = False,
    progress: bool = True,
    command: str | None = None,
) -> RunResult:
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    t0 = time.perf_counter()
    device = str(resolve_device(scenario.device))
    if store is None:
        store = ModelStore(scenario.resolve(scenario.store.path))
    dataset, data, test_images, test_labels = prepare_data(scenario, data_path)
    log(dataset.summary())  # the dataset's own notes (subset, unverified) are logged as warnings

    classifier, clf_card = obtain_classifier(scenario.classifier, data, store, device=device, retrain=retrain,
                                             progress=progress)
    models = {"classifier": _model_entry(clf_card, store)}
    codecs = []
    for section in scenario.codecs:
        codec, card = obtain_codec(section, data, classifier, clf_card["key"], store, device=device,
                                   retrain=retrain, progress=progress)
        prior = np.asarray(card["symbol_prior"]) if "symbol_prior" in card else None
        codecs.append(CodecUnderTest(section.name, codec, section.objective, prior, card["key"]))
        models[section.name] = _model_entry(card, store)

    root = Path(results_root) if results_root is not None else Path(scenario.output.dir)
    run_dir = create_run_dir(root, scenario.name)
    log(f"evaluating on {len(test_labels)} test images over {len(scenario.channels)} channel settings "
        f"x {len(scenario.seeds)} seeds")
    ev = evaluate(codecs, classifier, test_images, test_labels, scenario.channels, list(scenario.seeds),
                  erasure_policy=scenario.receiver.erasure_policy, mapping=scenario.receiver.mapping,
                  n_examples=scenario.output.examples, progress=progress)
    rows = [{"scenario": scenario.name, **r} for r in ev.rows]
    write_csv(run_dir / "metrics.csv", rows)
    write_csv(run_dir / "per_class.csv", ev.class_rows)
    (run_dir / "summary.md").write_text(summary_markdown(rows))
    if ev.examples:
        np.savez_compressed(run_dir / "examples.npz", **{k.replace("|", "__"): v for k, v in ev.examples.items()})
    manifest = {
        "scenario": scenario.to_dict(),
        "scenario_file": str(scenario.source),
        "scenario_sha256": file_sha256(scenario.source) if scenario.source.exists() else None,
        "command": command or " ".join(sys.argv),
        "run_id": run_dir.name,
        "started": started,
        "seconds": round(time.perf_counter() - t0, 3),
        "device": device,
        "seeds": list(scenario.seeds),
        "versions": {"semcom": __version__, "channels": getattr(channels, "__version__", __version__),
                     "torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
                     "git_commit": _git_commit()},
        "data": {"dataset": dataset.name, "source": str(dataset.source), "checksums": dataset.checksums,
                 "notes": dataset.notes, "training_identity": data.identity,
                 "n_train": len(data.train_x), "n_val": len(data.val_x), "n_test": len(test_labels)},
        "models": models,
        "files": ["metrics.csv", "per_class.csv", "summary.md", "manifest.json"],
    }
    if scenario.output.plots:
        paths = draw_run(rows, ev.examples, run_dir / "plots", list(scenario.output.formats))
        manifest["files"] += [str(p.relative_to(run_dir)) for p in paths]
    write_json(run_dir / "manifest.json", manifest)
    return RunResult(run_dir, rows, ev)


def _model_entry(card: dict, store: ModelStore) -> dict:
    return {"key": card["key"], "weights_sha256": card["weights_sha256"], "metrics": card.get("metrics", {}),
            "created": card.get("created"), "made_with": card.get("made_with")}
