"""Run a scenario end to end: data -> models -> evaluation -> results folder.

This is the library entry point behind ``semcom run``; notebooks call
:func:`run_scenario` directly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from semcom.app.execution import bench_factory, compute_points, pending_points
from semcom.app.executors import DaskExecutor, LocalExecutor
from semcom.app.journal import Journal
from semcom.app.manifest import build_manifest, keep_provenance, model_entry, read_manifest
from semcom.app.outputs import collect, first_seed_latencies, write_figures, write_tables  # noqa: F401
from semcom.app.results import ensure_writable_dir, new_run_id, write_json
from semcom.app.scenario import Scenario
from semcom.data import load_dataset, to_float_tensor, train_val_split
from semcom.errors import ScenarioError, SemcomError
from semcom.evaluation import CodecUnderTest, original_point, sweep_points
from semcom.models.families import family_of
from semcom.models.store import ModelStore, spec_key
from semcom.models.training.common import resolve_device
from semcom.models.zoo import TrainingData, obtain_classifier, obtain_codec
from semcom.progress import log


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    rows: list[dict]
    class_rows: list[dict]
    notes: list[str] = field(default_factory=list)  # the data's and the run's notes, for the reader


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
    test_images = to_float_tensor(test_x)
    return dataset, data, test_images, np.asarray(test_y, dtype=np.int64)


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
        models[name] = model_entry(card)
        if name == "classifier":
            classifier = model
            histories[name] = {"history": card.get("history", {})}
            continue
        section = sections[name]
        prior = np.asarray(card["symbol_prior"]) if "symbol_prior" in card else None
        label = family_of(section.family).label(section)
        digital = family_of(section.family).digital  # the training symbols feed joint entropy models
        codecs.append(CodecUnderTest(section.name, model, label, prior, card["key"], group=section.group,
                                     train_seed=section.train.seed, base=section.base,
                                     train_symbols=_symbols(model, data.train_x) if digital else None,
                                     n_train=len(data.train_x)))
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
    _check_names(scenario, only)
    store, device = _store_and_device(scenario, store)
    dataset, data, _, _ = prepare_data(scenario, data_path)
    log(dataset.summary())
    return [{"name": name, "key": card["key"], "seconds": seconds, "card": card}
            for name, _, card, seconds in _obtain_models(scenario, data, store, device,
                                                          only if only is not None else sections,
                                                          retrain=retrain, progress=progress)]


def model_status(scenario: Scenario, *, data_path: str | Path | None = None, store: ModelStore | None = None,
                 only: list[str] | None = None) -> list:
    """Each model of ``scenario`` as stored, training now, checkpointed or missing; trains nothing."""
    from semcom.app.status import model_status as status_of

    _check_names(scenario, only)
    store, _ = _store_and_device(scenario, store)
    _, data, _, _ = prepare_data(scenario, data_path)
    return status_of(scenario, data, store, only)


def _check_names(scenario: Scenario, only: list[str] | None) -> None:
    if only is None:
        return
    sections = [s.name for s in scenario.codec_list]
    unknown = [n for n in only if n not in sections]
    if unknown:
        raise SemcomError(f"--only: no codec named {', '.join(unknown)} in this scenario; "
                          f"expected some of: {', '.join(sections)}")


@torch.no_grad()
def _symbols(codec, images: torch.Tensor, batch: int = 4096) -> np.ndarray:
    """The codec's symbols for ``images`` (numbered 0..N-1 for the shared dither)."""
    return torch.cat([codec.encode(images[i : i + batch], torch.arange(i, min(i + batch, len(images))))
                      for i in range(0, len(images), batch)]).numpy()


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
    started, t0 = time.strftime("%Y-%m-%dT%H:%M:%S%z"), time.perf_counter()
    root = Path(results_root) if results_root is not None else Path(scenario.output.dir)
    ensure_writable_dir(root / scenario.name)  # before any data is read or model trained
    ctx = context or prepare_run(scenario, data_path=data_path, store=store, retrain=retrain, progress=progress)
    run_id = run_id_for(scenario, ctx.dataset.checksums) + ("-" + new_run_id() if fresh else "")
    run_dir = root / scenario.name / run_id
    seeds = list(scenario.seeds)
    points = sweep_points([c.name for c in ctx.codecs], scenario.channels, seeds, scenario.links,
                          scenario.bitstreams)
    n_examples = scenario.output.examples
    with Journal(run_dir / "journal.jsonl") as journal:
        todo = pending_points(journal, points, ctx.codecs, run_dir)
        make_bench = bench_factory(ctx.codecs, ctx.classifier, ctx.test_images, ctx.test_labels,
                                   erasure_policy=scenario.receiver.erasure_policy, mapping=scenario.receiver.mapping)
        compute_points(todo, journal, run_dir, make_bench, ctx.codecs,
                       examples_for=lambda p: n_examples if p.seed == seeds[0] else 0, executor=executor,
                       progress=progress, n_images=len(ctx.test_labels))
        # outputs are written under the run's lock, so two processes never interleave them
        original = original_point(ctx.classifier, ctx.test_images, ctx.test_labels, seeds[0], n_examples)
        tables = collect(journal.completed(), points, original, run_dir, scenario.name, seeds[0])
        notes = [f"data: {n}" for n in ctx.dataset.notes]
        files = write_tables(tables, run_dir, notes) + ["journal.jsonl", "manifest.json"]
        if "paper_table3" in scenario.output.tables:
            from semcom.app.paper import write_table3

            epochs = {c.name: c.train.epochs for c in scenario.codec_list if family_of(c.family).trained}
            files += [p.name for p in write_table3(tables.rows, run_dir, epochs)]
        histories = {name: m["history"] for name, m in ctx.histories.items()}
        if scenario.output.plots:
            files += ["training_histories.json", *write_figures(tables, histories, run_dir,
                                                                list(scenario.output.formats), seeds[0],
                                                                scenario.output.style)]
        manifest = build_manifest(scenario, ctx, run_dir, command=command, started=started,
                                  seconds=time.perf_counter() - t0, n_points=len(points), n_computed=len(todo),
                                  files=files)
        manifest = keep_provenance(manifest, read_manifest(run_dir / "manifest.json"), len(todo))
        write_json(run_dir / "manifest.json", manifest)
    return RunResult(run_dir, tables.rows, tables.class_rows, notes)
