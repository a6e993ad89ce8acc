"""Terminal progress for long work (training epochs, sweeps) without extra dependencies."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _fmt_seconds(s: float) -> str:
    s = max(0, int(round(s)))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class Progress:
    """A one-line bar with rate and ETA, redrawn in place on a TTY, sparse lines elsewhere."""

    def __init__(self, total: int, desc: str, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total = max(int(total), 0)
        self.desc = desc
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.count = 0
        self.start = time.perf_counter()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_draw = 0.0
        self._last_line = self.start
        self.postfix = ""

    def update(self, n: int = 1, postfix: str | None = None) -> None:
        self.count += n
        if postfix is not None:
            self.postfix = postfix
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.tty:
            if now - self._last_draw > 0.1 or self.count >= self.total:
                self._last_draw = now
                self.stream.write("\r" + self._line(now) + "\x1b[K")
                self.stream.flush()
        else:
            # logs and CI: a line every 30 s at most, so long work still shows life
            if now - self._last_line >= 30.0 and self.count < self.total:
                self._last_line = now
                self.stream.write(self._line(now) + "\n")
                self.stream.flush()

    def _line(self, now: float) -> str:
        elapsed = now - self.start
        frac = self.count / self.total if self.total else 1.0
        width = 20
        bar = "#" * int(width * frac) + "-" * (width - int(width * frac))
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        post = f" {self.postfix}" if self.postfix else ""
        return f"{self.desc} [{bar}] {self.count}/{self.total} {_fmt_seconds(elapsed)}<{_fmt_seconds(eta)}{post}"

    def close(self, message: str | None = None) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        line = message if message is not None else self._line(now)
        if self.tty:
            self.stream.write("\r" + line + "\x1b[K\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


_quiet = False


def set_quiet(quiet: bool) -> None:
    """``semcom ... --quiet``: status lines off (errors and results are still printed)."""
    global _quiet
    _quiet = bool(quiet)


def log(message: str, stream: TextIO | None = None) -> None:
    """A plain status line on stderr (stdout stays for results); silent after ``set_quiet(True)``."""
    if _quiet:
        return
    stream = stream or sys.stderr
    stream.write(message + "\n")
    stream.flush()
