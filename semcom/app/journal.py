"""An append-only journal of finished sweep points: what makes a run resumable.

Each finished point is one JSON line, flushed and fsynced before the next point
starts, so a crash or ``kill -9`` loses at most the point in progress. A torn last line
(the process died mid-write) is ignored on reading. An exclusive lock on the run
folder keeps two processes from writing the same run.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Iterator

from semcom.errors import SemcomError


class RunLockedError(SemcomError):
    pass


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_file = None

    def __enter__(self) -> "Journal":
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_file = open(self.path.with_suffix(".lock"), "w")
        except OSError as exc:
            raise SemcomError(f"{self.path.parent}: cannot write this run folder: {exc.strerror or exc}; "
                              f"give another --results folder or pass --fresh") from None
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise RunLockedError(f"{self.path.parent}: another semcom process is writing this run; "
                                 f"wait for it or pass --fresh for a separate run folder") from None
        self._repair()
        return self

    def __exit__(self, *exc) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def _repair(self) -> None:
        """Drop a torn final line left by a killed process."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            with open(self.path, "r+b") as f:
                f.truncate(cut)

    def entries(self) -> Iterator[dict]:
        if not self.path.exists():
            return
        with open(self.path) as f:
            for line in f:
                if not line.endswith("\n"):
                    break
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    break

    def completed(self) -> dict[str, dict]:
        return {e["point_id"]: e for e in self.entries()}

    def append(self, entry: dict) -> None:
        line = json.dumps(entry, allow_nan=True, default=float) + "\n"
        with open(self.path, "a") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
