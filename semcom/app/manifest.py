"""manifest.json: what a run was (scenario, command, data, models, versions), so anyone can redo it."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

import channels
from semcom import __version__
from semcom.models.store import file_sha256


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict:
    import torch

    return {"semcom": __version__, "channels": getattr(channels, "__version__", None), "torch": torch.__version__,
            "numpy": np.__version__, "python": platform.python_version(), "git_commit": git_commit()}


def model_entry(card: dict) -> dict:
    return {"key": card["key"], "weights_sha256": card["weights_sha256"], "metrics": card.get("metrics", {}),
            "created": card.get("created"), "made_with": card.get("made_with"),
            "weights_dtype": card.get("weights_dtype", "float32")}


# what one invocation was: kept from the run that computed the points when a later one only resumes
PROVENANCE = ("command", "started", "seconds", "points", "versions")


def build_manifest(scenario, ctx, run_dir: Path, *, command: str | None, started: str, seconds: float,
                   n_points: int, n_computed: int, files: list[str]) -> dict:
    dataset, data = ctx.dataset, ctx.data
    return {
        "scenario": scenario.to_dict(),
        "scenario_file": str(scenario.source),
        "scenario_sha256": file_sha256(scenario.source) if scenario.source.exists() else None,
        "command": command or " ".join(sys.argv),
        "run_id": run_dir.name,
        "started": started,
        "seconds": round(seconds, 3),
        "points": {"total": n_points, "computed_now": n_computed, "resumed": n_points - n_computed},
        "device": ctx.device,
        "seeds": list(scenario.seeds),
        "versions": versions(),
        "data": {"dataset": dataset.name, "source": str(dataset.source), "checksums": dataset.checksums,
                 "notes": dataset.notes, "training_identity": data.identity,
                 "n_train": len(data.train_x), "n_val": len(data.val_x), "n_test": len(ctx.test_labels)},
        "models": ctx.models,
        "files": files,
    }


def keep_provenance(manifest: dict, previous: dict | None, n_computed: int) -> dict:
    """``manifest`` with ``previous``'s provenance when this invocation computed no point.

    A rerun that finds every point journaled only redraws tables and figures from the
    journal; recording it as the run ("computed_now": 0, today's commit) would erase when,
    how and with which code the numbers were computed, and would dirty a committed run.
    """
    if n_computed or not previous or previous.get("run_id") != manifest["run_id"]:
        return manifest
    if not all(k in previous for k in PROVENANCE):
        return manifest
    return {**manifest, **{k: previous[k] for k in PROVENANCE}}


def read_manifest(path: Path) -> dict | None:
    """The manifest at ``path``, or None where there is none or it is not valid JSON."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
