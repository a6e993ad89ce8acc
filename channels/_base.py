"""The channel interface and its result type."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

__all__ = ["Channel", "Received"]


@dataclass(frozen=True)
class Received:
    """What the receiver sees: hard bits plus which positions were erased.

    Erased positions hold 0 in ``bits`` so downstream code never reads a
    stale value by accident; ``erased`` is the only source of truth.
    """

    bits: np.ndarray
    erased: np.ndarray

    def __post_init__(self) -> None:
        if self.bits.shape != self.erased.shape:
            raise ValueError(
                f"Received: bits and erased must have the same shape, "
                f"got {self.bits.shape} and {self.erased.shape}"
            )

    @property
    def n_erased(self) -> int:
        return int(np.count_nonzero(self.erased))


def check_bits(kind: str, bits: object) -> np.ndarray:
    """Reject anything that is not a >=1-D integer/bool array of 0s and 1s.

    Lists are refused rather than coerced: a silent float or object
    conversion is how 0.5-valued "bits" sneak into a simulation.
    """
    if not isinstance(bits, np.ndarray):
        raise TypeError(
            f"{kind}: bits must be a numpy array of integers or bools "
            f"(wrap it with np.asarray), got {type(bits).__name__}"
        )
    if bits.dtype != np.bool_ and not np.issubdtype(bits.dtype, np.integer):
        raise TypeError(
            f"{kind}: bits must have an integer or bool dtype, got {bits.dtype}"
        )
    if bits.ndim == 0:
        raise ValueError(
            f"{kind}: bits must have at least 1 dimension "
            f"(the last axis is one unit's bit sequence), got a 0-d array"
        )
    if bits.size and bits.dtype != np.bool_:
        too_big = bits.max() > 1
        negative = np.issubdtype(bits.dtype, np.signedinteger) and bits.min() < 0
        if too_big or negative:
            offending = bits[(bits > 1) | (bits < 0)].flat[0]
            raise ValueError(f"{kind}: bits must contain only 0 and 1, got value {offending}")
    return bits


def check_rng(kind: str, rng: object) -> np.random.Generator:
    """Only a Generator: ints or None would hide an unseeded/global-state draw."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{kind}: rng must be a numpy.random.Generator "
            f"(e.g. np.random.default_rng(seed)), got {type(rng).__name__}"
        )
    return rng


class Channel(ABC):
    """A stateless, seeded-by-argument model of a binary link.

    Subclasses are frozen dataclasses whose fields are exactly their
    parameters, which is what makes ``params()`` and ``channels.make``
    round-trip. Each call is independent: channels with memory (e.g.
    Gilbert-Elliott) start from their stationary distribution every call.
    """

    kind: ClassVar[str]
    #: Short name used by ``describe()``, e.g. "BSC".
    label: ClassVar[str]

    def __call__(self, bits: np.ndarray, rng: np.random.Generator) -> Received:
        """Send ``bits`` (any shape, last axis = one unit) through the channel."""
        check_bits(self.kind, bits)
        check_rng(self.kind, rng)
        # A fresh C-ordered uint8 copy: callers' arrays are never modified,
        # and "flattened stream" means C order whatever the input layout.
        out = np.array(bits, dtype=np.uint8, order="C", copy=True)
        return self._transmit(out, rng)

    @abstractmethod
    def _transmit(self, out: np.ndarray, rng: np.random.Generator) -> Received:
        """Corrupt ``out`` (validated, owned uint8 copy) in place and wrap it."""

    def axis_label(self, param: str) -> str | None:
        """Words and unit for a figure axis that sweeps ``param`` (its field's ``axis`` metadata);
        a channel whose parameter means different things by setting overrides this."""
        for f in dataclasses.fields(self):
            if f.name == param:
                return f.metadata.get("axis")
        return None

    def params(self) -> dict[str, Any]:
        """Constructor arguments as a plain dict: ``make(kind, **params())`` rebuilds."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def describe(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{self.label}({args})"

    def __str__(self) -> str:
        return self.describe()

    def bit_error_rate(self) -> float:
        """Expected probability that a transmitted bit arrives flipped (not erased)."""
        raise NotImplementedError(f"{self.kind}: no closed-form bit error rate")

    def erasure_rate(self) -> float:
        """Expected fraction of bits erased."""
        raise NotImplementedError(f"{self.kind}: no closed-form erasure rate")

    def capacity(self) -> float:
        """Capacity in bits per channel use, where a closed form exists."""
        raise NotImplementedError(f"{self.kind}: no closed-form capacity")


def no_erasures(out: np.ndarray) -> Received:
    return Received(bits=out, erased=np.zeros(out.shape, dtype=bool))
