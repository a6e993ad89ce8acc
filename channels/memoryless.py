"""Memoryless bit channels: identity, symmetric flips, erasures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from . import _params
from ._base import Channel, Received, no_erasures
from ._functions import binary_entropy
from ._sampling import bernoulli_mask, flip_in_place

__all__ = ["Clean", "BinarySymmetric", "BinaryErasure"]


@dataclass(frozen=True)
class Clean(Channel):
    """Error-free link: the baseline every other channel is compared against."""

    kind: ClassVar[str] = "clean"
    label: ClassVar[str] = "Clean"

    def _transmit(self, out: np.ndarray, rng: np.random.Generator) -> Received:
        return no_erasures(out)

    def bit_error_rate(self) -> float:
        return 0.0

    def erasure_rate(self) -> float:
        return 0.0

    def capacity(self) -> float:
        return 1.0


@dataclass(frozen=True)
class BinarySymmetric(Channel):
    """Each bit flips independently with probability ``p``.

    ``p`` is capped at 0.5: beyond it the receiver would just invert its
    decisions, so such a config is almost certainly a mistake.
    """

    p: float = field(metadata={"doc": "crossover probability: each bit flips with probability p (0 <= p <= 0.5)", "axis": "crossover probability p"})

    kind: ClassVar[str] = "bsc"
    label: ClassVar[str] = "BSC"

    def __post_init__(self) -> None:
        object.__setattr__(self, "p", _params.probability(self.kind, "p", self.p, hi=0.5))

    def _transmit(self, out: np.ndarray, rng: np.random.Generator) -> Received:
        flip_in_place(rng, out.reshape(-1), self.p)
        return no_erasures(out)

    def bit_error_rate(self) -> float:
        return self.p

    def erasure_rate(self) -> float:
        return 0.0

    def capacity(self) -> float:
        return 1.0 - binary_entropy(self.p)


@dataclass(frozen=True)
class BinaryErasure(Channel):
    """Each bit is erased independently with probability ``epsilon``; others arrive intact."""

    epsilon: float = field(metadata={"doc": "erasure probability: each bit is lost (and marked) with probability epsilon", "axis": "erasure probability ε"})

    kind: ClassVar[str] = "bec"
    label: ClassVar[str] = "BEC"

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", _params.probability(self.kind, "epsilon", self.epsilon))

    def _transmit(self, out: np.ndarray, rng: np.random.Generator) -> Received:
        erased = bernoulli_mask(rng, out.size, self.epsilon).reshape(out.shape)
        return erase(out, erased)

    def bit_error_rate(self) -> float:
        return 0.0

    def erasure_rate(self) -> float:
        return self.epsilon

    def capacity(self) -> float:
        return 1.0 - self.epsilon


def erase(out: np.ndarray, erased: np.ndarray) -> Received:
    """Zero the erased positions in place (uint8 & bool keeps 0/1 semantics)."""
    np.bitwise_and(out, ~erased, out=out)
    return Received(bits=out, erased=erased)
