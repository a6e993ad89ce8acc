"""Where a dataset's files are looked for, and what to say when they are not found."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from .registry import ROLES, DatasetSpec

def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/semcom/datasets`` (default ``~/.cache/semcom/datasets``)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "semcom" / "datasets"


def _find_files(folder: Path, spec: DatasetSpec) -> tuple[dict[str, Path], list[str]]:
    """Return (role -> existing file, missing roles) for one folder."""
    found: dict[str, Path] = {}
    missing: list[str] = []
    for role in ROLES:
        for fname in spec.candidate_names(role):
            p = folder / fname
            if p.is_file():
                found[role] = p
                break
        else:
            missing.append(role)
    return found, missing


def _missing_names(spec: DatasetSpec, roles: Sequence[str]) -> str:
    return ", ".join(spec.files[r] for r in roles)


def _not_found_message(
    spec: DatasetSpec, searched: Sequence[str], download_note: str
) -> str:
    needed = ", ".join(spec.files[r] for r in ROLES)
    fix = (
        f"fix: pass --data FOLDER (or dataset.path in the scenario) naming a folder with "
        f"these files, or set SEMCOM_DATA=ROOT with the files in ROOT/{spec.name}/"
    )
    if spec.install_hint:
        fix += f", or {spec.install_hint}"
    lines = [
        f"dataset {spec.name!r} not found: need {needed} (gzip-compressed or uncompressed)",
        "searched:",
        *(f"  {s}" for s in searched),
        f"download: {download_note}",
        fix,
    ]
    return "\n".join(lines)


def _describe(label: str, folder: Path, spec: DatasetSpec, missing: Sequence[str]) -> str:
    if not folder.is_dir():
        return f"{label}: {folder} (no such folder)"
    if len(missing) == len(ROLES):
        return f"{label}: {folder} (none of the files)"
    return f"{label}: {folder} (missing {', '.join(spec.files[r] for r in missing)})"
