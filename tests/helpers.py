"""Helpers shared by the tests that run whole scenarios: tiny scenario text, CLI environment, result rows.

Imported as ``from helpers import ...`` (pytest puts ``tests/`` on the path for the files in it).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parents[1]


def _toml_list(values: Sequence) -> str:
    return "[" + ", ".join(repr(v) for v in values) + "]"


def tiny_scenario(
    name: str,
    *,
    seeds: Sequence[int] = (0,),
    train_limit: int = 300,
    test_limit: int = 200,
    bits: int | Sequence[int] = 4,
    levels: int | None = 4,
    bsc: Sequence[float] = (0.0, 0.05),
    bec: Sequence[float] = (),
    device: str | None = "cpu",
    classifier: str = "",
    codec_train: str = "",
    receiver: str = "",
    examples: int = 2,
) -> str:
    """A scenario that trains in seconds: 1-epoch classifier, one width-8 codec "c" for 1 epoch.

    ``classifier``, ``codec_train`` and ``receiver`` are extra TOML lines for those tables.
    """
    lines = [f'name = "{name}"', f"seeds = {_toml_list(seeds)}"]
    if device is not None:
        lines.append(f'device = "{device}"')
    lines += ["[dataset]", f"train_limit = {train_limit}", f"test_limit = {test_limit}",
              "[classifier]", "epochs = 1", *filter(None, [classifier]),
              "[[codecs]]", 'name = "c"', f"bits = {bits if isinstance(bits, int) else _toml_list(bits)}"]
    if levels is not None:
        lines.append(f"levels = {levels}")
    lines += ["width = 8", "[codecs.train]", "epochs = 1", *filter(None, [codec_train])]
    if bsc:
        lines += ["[[channels]]", 'kind = "bsc"', f"p = {_toml_list(bsc)}"]
    if bec:
        lines += ["[[channels]]", 'kind = "bec"', f"epsilon = {_toml_list(bec)}"]
    if receiver:
        lines += ["[receiver]", receiver]
    lines += ["[output]", "plots = false", f"examples = {examples}"]
    return "\n".join(lines) + "\n"


def cli_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``semcom`` subprocess with a private store and cache under ``tmp``."""
    env = {**os.environ, "SEMCOM_STORE": str(tmp / "store"), "XDG_CACHE_HOME": str(tmp / "cache"), **extra}
    env.pop("SEMCOM_DATA", None)
    return env


def semcom_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "semcom.app.cli", *args]


def run_cli(*args: str, tmp: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(semcom_command(*args), capture_output=True, text=True, cwd=REPO, env=cli_env(tmp),
                          timeout=timeout)


def metrics_rows(run_dir: Path) -> list[dict]:
    """metrics.csv rows without the wall-clock column (the only one allowed to differ between runs)."""
    with open(run_dir / "metrics.csv", newline="") as f:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)]
