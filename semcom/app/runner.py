"""Run a scenario end to end: data -> models -> evaluation -> results folder.

This is the library entry point behind ``semcom run``; notebooks call
:func:`run_scenario` directly.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

import channels
from semcom import __version__
from semcom.data import load_dataset, train_val_split
from semcom.errors import SemcomError
from semcom.evaluation import CodecBench, CodecUnderTest, original_point, sweep_points
from semcom.app.executors import DaskExecutor, LocalExecutor
from semcom.app.journal import Journal
from semcom.app.plots import draw_run, training_curves
from semcom.progress import Progress, log
from semcom.app.results import ensure_writable_dir, new_run_id, save_array, save_examples, summary_markdown, write_csv, write_json
from semcom.errors import ScenarioError
from semcom.app.scenario import Scenario
from semcom.models.store import ModelStore, atomic_write_text, file_sha256, spec_key
from semcom.models.training.common import resolve_device
from semcom.models.families import family_of
from semcom.models.zoo import TrainingData, obtain_classifier, obtain_codec


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    rows: list[dict]
    class_rows: list[dict]


def prepare_data(scenario: Scenario, data_path: str | Path | None = None):
    ds_cfg = scenario.dataset
    path = Path(data_path) if data_path is not None else scenario.resolve(ds_cfg.path)
    dataset = load_dataset(ds_cfg.name, path=path)
    images, labels = dataset.train_images, dataset.train_labels
    for key, limit, n, what in (("train_limit", ds_cfg.train_limit, len(images), "training"),
                                ("test_limit", ds_cfg.test_limit, len(dataset.test_images), "test")):
        if limit > n:
            raise ScenarioError(str(scenario.source), f"dataset.{key}",
                                f"{limit}, but {dataset.name} at {dataset.source} holds {n} {what} images")
    if ds_cfg.train_limit:
        images, labels = images[: ds_cfg.train_limit], labels[: ds_cfg.train_limit]
    train_idx, val_idx = train_val_split(len(images), ds_cfg.val_fraction, ds_cfg.split_seed)
    if len(val_idx) == 0 or len(train_idx) == 0:
        raise ScenarioError(str(scenario.source), "dataset.val_fraction",
                            f"{ds_cfg.val_fraction} of {len(images)} images leaves {len(train_idx)} for training and "
                            f"{len(val_idx)} for validation; both must be non-empty")
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


@dataclass
class RunContext:
    """Data and models of a scenario, ready to evaluate (what ``semcom compare`` reuses)."""

    dataset: object
    data: TrainingData
    test_images: torch.Tensor
    test_labels: np.ndarray
    classifier: torch.nn.Module
    codecs: list[CodecUnderTest]
    models: dict
    device: str
    histories: dict = field(default_factory=dict)  # model name -> training curve from its card


def _obtain_models(scenario: Scenario, data, store: ModelStore, device: str, names: list[str], *,
                   retrain: bool, progress: bool):
    """The classifier, then each named codec: (name, model, card, seconds), stored or trained."""
    sections = {s.name: s for s in scenario.codec_list}
    t0 = time.perf_counter()
    classifier, clf_card = obtain_classifier(scenario.classifier, data, store, device=device, retrain=retrain,
                                             progress=progress)
    yield "classifier", classifier, clf_card, time.perf_counter() - t0
    for name in names:
        t0 = time.perf_counter()
        codec, card = obtain_codec(sections[name], data, classifier, clf_card["key"], store, device=device,
                                   retrain=retrain, progress=progress)
        yield name, codec, card, time.perf_counter() - t0


def _store_and_device(scenario: Scenario, store: ModelStore | None) -> tuple[ModelStore, str]:
    device = str(resolve_device(scenario.device))
    if store is None:
        store = ModelStore(scenario.resolve(scenario.store.path),
                           also=[scenario.resolve(p) for p in scenario.store.also])
    return store, device


def prepare_run(scenario: Scenario, *, data_path: str | Path | None = None, store: ModelStore | None = None,
                retrain: bool = False, progress: bool = True) -> RunContext:
    """Load the data, then get every model from the store (training what is missing)."""
    store, device = _store_and_device(scenario, store)
    dataset, data, test_images, test_labels = prepare_data(scenario, data_path)
    log(dataset.summary())  # the dataset's own notes (subset, unverified) are logged as warnings
    sections = {s.name: s for s in scenario.codec_list}
    models, histories, codecs = {}, {}, []
    classifier = None
    for name, model, card, _ in _obtain_models(scenario, data, store, device, list(sections), retrain=retrain,
                                               progress=progress):
        models[name] = _model_entry(card)
        if name == "classifier":
            classifier = model
            histories[name] = {"history": card.get("history", {})}
            continue
        section = sections[name]
        prior = np.asarray(card["symbol_prior"]) if "symbol_prior" in card else None
        label = family_of(section.family).label(section)
        codecs.append(CodecUnderTest(section.name, model, label, prior, card["key"], group=section.group,
                                     train_seed=section.train.seed))
        if family_of(section.family).trained:
            histories[name] = {"history": card.get("history", {})}
    return RunContext(dataset, data, test_images, test_labels, classifier, codecs, models, device, histories)


def train_models(scenario: Scenario, *, data_path: str | Path | None = None, store: ModelStore | None = None,
                 only: list[str] | None = None, retrain: bool = False, progress: bool = True) -> list[dict]:
    """Get (training what is missing) the classifier and the codecs of ``scenario``, no sweep.

    ``only`` names codecs (expanded names, e.g. ``NA2-8b``) to get, in that order; the
    classifier always comes first. Returns one row per model: name, key, seconds, card.
    """
    sections = [s.name for s in scenario.codec_list]
    if only is not None:
        unknown = [n for n in only if n not in sections]
        if unknown:
            raise SemcomError(f"--only: no codec named {', '.join(unknown)} in this scenario; "
                              f"expected some of: {', '.join(sections)}")
    store, device = _store_and_device(scenario, store)
    dataset, data, _, _ = prepare_data(scenario, data_path)
    log(dataset.summary())
    return [{"name": name, "key": card["key"], "seconds": seconds, "card": card}
            for name, _, card, seconds in _obtain_models(scenario, data, store, device,
                                                          only if only is not None else sections,
                                                          retrain=retrain, progress=progress)]


def run_id_for(scenario: Scenario, data_checksums: dict) -> str:
    """Same scenario on the same data -> same run folder, which is what lets a rerun resume."""
    return "run-" + spec_key({"scenario": scenario.to_dict(), "data": data_checksums})[:10]


def run_scenario(
    scenario: Scenario,
    *,
    data_path: str | Path | None = None,
    results_root: str | Path | None = None,
    store: ModelStore | None = None,
    retrain: bool = False,
    fresh: bool = False,
    progress: bool = True,
    command: str | None = None,
    context: RunContext | None = None,
    executor: LocalExecutor | DaskExecutor | None = None,
) -> RunResult:
    """Run (or resume) a scenario; returns the run folder and its rows.

    Finished sweep points are journaled as they complete; running the same scenario
    again continues where an interrupted run stopped. ``fresh=True`` starts a separate
    run folder instead.
    """
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    t0 = time.perf_counter()
    root = Path(results_root) if results_root is not None else Path(scenario.output.dir)
    ensure_writable_dir(root / scenario.name)  # before any data is read or model trained
    ctx = context or prepare_run(scenario, data_path=data_path, store=store, retrain=retrain, progress=progress)
    dataset, data, test_images, test_labels = ctx.dataset, ctx.data, ctx.test_images, ctx.test_labels
    classifier, codecs, models, device = ctx.classifier, ctx.codecs, ctx.models, ctx.device
    run_id = run_id_for(scenario, dataset.checksums)
    if fresh:
        run_id += "-" + new_run_id()
    run_dir = root / scenario.name / run_id
    seeds = list(scenario.seeds)
    points = sweep_points([c.name for c in codecs], scenario.channels, seeds, scenario.links)
    n_examples = scenario.output.examples
    with Journal(run_dir / "journal.jsonl") as journal:
        done = journal.completed()
        stale = [pid for pid, e in done.items() if e.get("model_key") != _key_of(codecs, e["row"]["codec"])]
        if stale:
            raise SemcomError(f"{run_dir}: {len(stale)} journaled points were computed with other models "
                              f"(e.g. {stale[0]}); pass --fresh to start a separate run")
        todo = [p for p in points if p.point_id not in done]
        if done:
            log(f"resuming {run_dir}: {len(points) - len(todo)} of {len(points)} points already computed")
        log(f"evaluating {len(todo)} points on {len(test_labels)} test images")
        bar = Progress(len(todo), "sweep", enabled=progress)
        by_name = {c.name: c for c in codecs}

        def make_bench(name: str) -> CodecBench:
            return CodecBench(by_name[name], classifier, test_images, test_labels,
                              erasure_policy=scenario.receiver.erasure_policy, mapping=scenario.receiver.mapping)

        runner = executor or LocalExecutor()
        for point, result in runner.run(todo, make_bench, lambda p: n_examples if p.seed == seeds[0] else 0):
            cut = by_name[point.codec]
            if len(result.examples):
                save_array(_example_path(run_dir, point.point_id), result.examples)
            if result.latency is not None:
                save_array(_example_path(run_dir, point.point_id, "latency"), result.latency)
            journal.append({"point_id": point.point_id, "model_key": cut.model_key,
                            "row": result.row, "class_rows": result.class_rows})
            bar.update(postfix=f"{point.codec} {point.setting} seed {point.seed}: "
                               f"acc {100 * result.row['accuracy']:.1f}%")
        bar.close()
        entries = journal.completed()
        # outputs are written under the run's lock, so two processes never interleave them

        original = original_point(classifier, test_images, test_labels, seeds[0], n_examples)
        ordered = [entries[p.point_id] for p in points]
        rows = [{"scenario": scenario.name, **r} for r in [original.row] + [e["row"] for e in ordered]]
        class_rows = original.class_rows + [r for e in ordered for r in e["class_rows"]]
        examples = {"original": original.examples}
        latencies = {}
        for p in points:
            path = _example_path(run_dir, p.point_id)
            if p.seed == seeds[0] and path.exists():
                examples[f"{p.codec}|{p.setting}"] = np.load(path)
            lat_path = _example_path(run_dir, p.point_id, "latency")
            if lat_path.exists() and p.link is not None:
                latencies[(p.codec, p.channel.label, p.link.label, str(p.seed))] = np.load(lat_path)
        if latencies:
            save_examples(run_dir / "latency.npz", {"|".join(k): v for k, v in latencies.items()})
        # wall-clock times go to a file of their own: metrics.csv is byte-identical across reruns and resumes
        timings = [{"codec": r["codec"], "channel": r["channel"], "seed": r["seed"], "seconds": r.pop("seconds", 0.0)}
                   for r in rows]
        write_csv(run_dir / "metrics.csv", rows)
        write_csv(run_dir / "timings.csv", timings)
        write_csv(run_dir / "per_class.csv", class_rows)
        save_examples(run_dir / "examples.npz", examples)
        atomic_write_text(run_dir / "summary.md", summary_markdown(rows))
        manifest = {
            "scenario": scenario.to_dict(),
            "scenario_file": str(scenario.source),
            "scenario_sha256": file_sha256(scenario.source) if scenario.source.exists() else None,
            "command": command or " ".join(sys.argv),
            "run_id": run_dir.name,
            "started": started,
            "seconds": round(time.perf_counter() - t0, 3),
            "points": {"total": len(points), "computed_now": len(todo), "resumed": len(points) - len(todo)},
            "device": device,
            "seeds": seeds,
            "versions": {"semcom": __version__, "channels": getattr(channels, "__version__", None),
                         "torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
                         "git_commit": _git_commit()},
            "data": {"dataset": dataset.name, "source": str(dataset.source), "checksums": dataset.checksums,
                     "notes": dataset.notes, "training_identity": data.identity,
                     "n_train": len(data.train_x), "n_val": len(data.val_x), "n_test": len(test_labels)},
            "models": models,
            "files": ["metrics.csv", "timings.csv", "per_class.csv", "summary.md", "examples.npz", "journal.jsonl", "manifest.json"],
        }
        if "paper_table3" in scenario.output.tables:
            from semcom.app.paper import write_table3

            epochs = {c.name: c.train.epochs for c in scenario.codec_list if family_of(c.family).trained}
            manifest["files"] += [p.name for p in write_table3(rows, run_dir, epochs)]
        histories = {name: m["history"] for name, m in ctx.histories.items()}
        write_json(run_dir / "training_histories.json", histories)  # so `semcom plot` can redraw the curves
        manifest["files"].append("training_histories.json")
        if scenario.output.plots:
            paths = draw_run(rows, examples, run_dir / "plots", list(scenario.output.formats),
                             first_seed_latencies(latencies, seeds[0]))
            paths += training_curves(histories, run_dir / "plots", list(scenario.output.formats))
            manifest["files"] += [str(p.relative_to(run_dir)) for p in paths]
        write_json(run_dir / "manifest.json", manifest)
    return RunResult(run_dir, rows, class_rows)


def first_seed_latencies(latencies: dict[tuple, np.ndarray], seed: int) -> dict[tuple, np.ndarray]:
    """(codec, channel, link, seed) -> latencies, narrowed to one seed for the CDF plot."""
    return {k[:3]: v for k, v in latencies.items() if k[3] == str(seed)}


def _key_of(codecs: list[CodecUnderTest], name: str) -> str | None:
    return next((c.model_key for c in codecs if c.name == name), None)


def _example_path(run_dir: Path, point_id: str, kind: str = "examples") -> Path:
    return run_dir / kind / (hashlib.sha1(point_id.encode()).hexdigest()[:16] + ".npy")


def _model_entry(card: dict) -> dict:
    return {"key": card["key"], "weights_sha256": card["weights_sha256"], "metrics": card.get("metrics", {}),
            "created": card.get("created"), "made_with": card.get("made_with")}
