"""The results layout: ``<root>/<scenario>/<run-id>/`` with metrics.csv, per_class.csv,
manifest.json, summary.md and plots/. Every file is written atomically."""

from __future__ import annotations

import csv
import io
import os
import tempfile
import json
import math
import secrets
import time
from pathlib import Path

import numpy as np

from semcom.errors import SemcomError
from semcom.models.store import atomic_write_bytes, atomic_write_text


def ensure_writable_dir(path: Path, what: str = "results folder") -> None:
    """Fail early, in one line naming the path and the cause, where outputs cannot be written:
    checked before any data is loaded or any model trained, so nothing computed is lost.
    Creates nothing: the nearest folder that exists is probed with a temporary file (so two
    runs starting at once never race over folders made for the check)."""
    path = Path(path)
    existing = next((p for p in [path, *path.parents] if p.exists()), None)
    if existing is None:
        raise SemcomError(f"{what} {path}: no part of this path exists")
    if not existing.is_dir():
        raise SemcomError(f"{what} {path}: {existing} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise SemcomError(f"{what} {path}: cannot write there: {exc.strerror or exc} ({existing})") from None


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def _cell(v):
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return repr(v) if not math.isinf(v) else ("inf" if v > 0 else "-inf")
    return v


def write_csv(path: Path, rows: list[dict]) -> None:
    fields: list[str] = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _cell(v) for k, v in r.items()})
    atomic_write_text(path, buf.getvalue())


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k, v in r.items():
            try:
                r[k] = float(v) if v not in ("",) else math.nan
                if k in ("seed", "dim", "levels", "payload_bits", "n_images") and not math.isnan(r[k]):
                    r[k] = int(r[k])
            except ValueError:
                pass
    return rows


def write_json(path: Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, default=str, allow_nan=True) + "\n")


def save_array(path: Path, array: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, array)
    atomic_write_bytes(path, buf.getvalue())


def save_examples(path: Path, examples: dict[str, np.ndarray]) -> None:
    """Reconstruction examples keyed 'codec|channel', for redrawing the grid later."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k.replace("|", "__"): v for k, v in examples.items()})
    atomic_write_bytes(path, buf.getvalue())


def load_examples(path: Path) -> dict[str, np.ndarray] | None:
    if not path.exists():
        return None
    with np.load(path) as z:
        return {k.replace("__", "|"): z[k] for k in z.files}
