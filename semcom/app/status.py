"""Which models of a scenario are stored, part-trained or missing: `semcom train --status`.

Training the paper's schedule takes hours per model on a CPU and runs over several sessions,
each resuming from per-epoch checkpoints. This answers "what is left, and how far along is
it?" without loading a network or training anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from semcom.app.scenario import Scenario
from semcom.models.families import family_of
from semcom.models.store import ModelStore, spec_key
from semcom.models.zoo import classifier_spec, codec_spec

STORED, TRAINING, PARTIAL, MISSING = "stored", "training now", "checkpoint", "missing"


@dataclass(frozen=True)
class ModelStatus:
    name: str
    key: str
    state: str  # STORED, TRAINING (another process holds its training lock), PARTIAL or MISSING
    epochs: int | None = None  # the schedule's length (None: a fitted codec, no epochs)
    epochs_done: int | None = None  # from the checkpoint, when there is one
    location: str = ""  # where a STORED model is: "shipped" (semcom/weights) or its store folder
    val_accuracy: float | None = None
    val_mse: float | None = None

    @property
    def progress(self) -> str:
        if self.epochs is None:
            return "fitted on first use" if self.state != STORED else ""
        if self.state == STORED:
            return f"{self.epochs}/{self.epochs}"
        return f"{self.epochs_done or 0}/{self.epochs}"


def model_status(scenario: Scenario, data, store: ModelStore, only: list[str] | None = None) -> list[ModelStatus]:
    """The classifier, then each codec (or those in ``only``), in the scenario's order.

    ``data`` is the scenario's :class:`~semcom.models.zoo.TrainingData` (its identity is part of
    every store key); checkpoints are looked for where training would write them, in ``store.root``.
    """
    clf_spec = classifier_spec(scenario.classifier, data)
    clf_key = spec_key(clf_spec)
    rows = [_status("classifier", clf_spec, scenario.classifier.epochs, store)]
    for c in scenario.codec_list:
        if only is not None and c.name not in only:
            continue
        trained = family_of(c.family).trained
        rows.append(_status(c.name, codec_spec(c, data, clf_key), c.train.epochs if trained else None, store))
    return rows


def _status(name: str, spec: dict, epochs: int | None, store: ModelStore) -> ModelStatus:
    key = spec_key(spec)
    found = store.find(spec)
    if found is not None:
        metrics = found.card.get("metrics", {})
        where = "shipped" if found.shipped else _short(found.weights.parent)
        return ModelStatus(name, key, STORED, epochs, epochs, where, metrics.get("val_accuracy"), metrics.get("val_mse"))
    checkpoint = store.checkpoint_path(spec)
    done = _epochs_in(checkpoint) if epochs is not None and checkpoint.exists() else None
    if store.is_training(spec):
        state = TRAINING
    else:
        state = PARTIAL if done is not None else MISSING
    return ModelStatus(name, key, state, epochs, done)


def _short(folder: Path) -> str:
    """The folder relative to the working directory when it lies below it, else absolute."""
    folder = folder.resolve()
    try:
        return str(folder.relative_to(Path.cwd()))
    except ValueError:
        return str(folder)


def _epochs_in(checkpoint: Path) -> int | None:
    """Epochs a checkpoint holds; None for one that cannot be read (training would start over)."""
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        return int(state["epoch"])
    except Exception:  # a truncated or foreign file: report it as no progress, never fail the listing
        return None


def status_markdown(rows: list[ModelStatus]) -> str:
    lines = ["| model | key | state | epochs | val accuracy | val MSE | where |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        acc = "" if r.val_accuracy is None else f"{100 * r.val_accuracy:.2f}%"
        mse = "" if r.val_mse is None else f"{r.val_mse:.4f}"
        lines.append(f"| {r.name} | {r.key} | {r.state} | {r.progress} | {acc} | {mse} | {r.location} |")
    counts = {s: sum(r.state == s for r in rows) for s in (STORED, TRAINING, PARTIAL, MISSING)}
    lines.append("")
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items()) + f" (of {len(rows)} models)")
    return "\n".join(lines)
