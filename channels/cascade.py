"""Serial composition of two channels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ._base import Channel, Received
from ._errors import ChannelParameterError

__all__ = ["Cascade"]


@dataclass(frozen=True)
class Cascade(Channel):
    """``first`` then ``second``, e.g. a noisy PHY under a lossy network.

    Erasures are sticky: a bit erased by ``first`` stays erased whatever
    ``second`` does to the placeholder 0 it carries. ``first`` draws from the
    rng before ``second``, so results are reproducible.
    """

    first: Channel
    second: Channel

    kind: ClassVar[str] = "cascade"
    label: ClassVar[str] = "Cascade"

    def __post_init__(self) -> None:
        for name in ("first", "second"):
            value = getattr(self, name)
            if not isinstance(value, Channel):
                raise ChannelParameterError(
                    f"{self.kind}: {name} must be a channels.Channel, "
                    f"got {value!r} ({type(value).__name__})"
                )

    def _transmit(self, out: np.ndarray, rng: np.random.Generator) -> Received:
        a = self.first._transmit(out, rng)
        b = self.second._transmit(a.bits, rng)
        erased = a.erased | b.erased
        np.bitwise_and(b.bits, ~erased, out=b.bits)
        return Received(bits=b.bits, erased=erased)

    def params(self) -> dict[str, Any]:
        """Nested ``{"kind": ..., "params": ...}`` dicts, still JSON-able."""
        return {
            name: {"kind": ch.kind, "params": ch.params()}
            for name, ch in (("first", self.first), ("second", self.second))
        }

    def describe(self) -> str:
        return f"{self.first.describe()} -> {self.second.describe()}"

    def bit_error_rate(self) -> float:
        # Every stage's flip/erase pattern is independent of its input, and
        # within a stage a bit is flipped or erased, never both; so a bit ends
        # up wrong iff exactly one stage flips it and neither erases it.
        f1, f2 = self.first.bit_error_rate(), self.second.bit_error_rate()
        e1, e2 = self.first.erasure_rate(), self.second.erasure_rate()
        return f1 * (1.0 - e2 - f2) + f2 * (1.0 - e1 - f1)

    def erasure_rate(self) -> float:
        e1, e2 = self.first.erasure_rate(), self.second.erasure_rate()
        return 1.0 - (1.0 - e1) * (1.0 - e2)
