"""BPSK over additive white Gaussian noise."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from . import _params
from ._base import Channel, Received, check_bits, check_rng, no_erasures
from ._functions import binary_entropy, q_function

__all__ = ["AWGN"]

#: Noise samples per chunk; keeps the float64 scratch buffers cache-resident.
_CHUNK = 1 << 16


@dataclass(frozen=True)
class AWGN(Channel):
    """BPSK (0 -> +1, 1 -> -1) with unit symbol energy over real AWGN.

    ``ebn0_db`` is per *information* bit, so ``code_rate`` < 1 lowers the
    per-symbol SNR (Es/N0 = code_rate * Eb/N0), which is how coded systems
    are compared fairly. ``__call__`` returns hard decisions, ``llr`` soft
    values; for the same rng state both see the very same noise, so the hard
    decision is always the sign of the LLR.
    """

    ebn0_db: float = field(metadata={"doc": "Eb/N0 in dB, per information bit", "axis": "Eb/N0 (dB)"})
    code_rate: float = field(default=1.0, metadata={"doc": "code rate in (0, 1]: Es/N0 = code_rate x Eb/N0", "axis": "code rate"})

    kind: ClassVar[str] = "awgn"
    label: ClassVar[str] = "AWGN"

    def __post_init__(self) -> None:
        object.__setattr__(self, "ebn0_db", _params.finite(self.kind, "ebn0_db", self.ebn0_db))
        object.__setattr__(
            self,
            "code_rate",
            _params.in_range(self.kind, "code_rate", self.code_rate, 0.0, 1.0, "in (0, 1]"),
        )
        if self.code_rate == 0.0:
            raise _params.fail(self.kind, "code_rate", "in (0, 1]", self.code_rate)

    @property
    def esn0(self) -> float:
        """Linear SNR per transmitted symbol."""
        return self.code_rate * 10.0 ** (self.ebn0_db / 10.0)

    @property
    def noise_std(self) -> float:
        """Per-dimension noise standard deviation: N0/2 = 1 / (2 Es/N0) with Es = 1."""
        return math.sqrt(1.0 / (2.0 * self.esn0))

    def observe(self, bits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Received real symbols y = (1 - 2 b) + noise, float64, same shape as ``bits``."""
        check_bits(self.kind, bits)
        check_rng(self.kind, rng)
        return self._symbols(np.ascontiguousarray(bits), rng)

    def llr(self, bits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Channel LLRs log P(b=0|y)/P(b=1|y) = 2 y / sigma^2, for soft-input decoders."""
        y = self.observe(bits, rng)
        y *= 2.0 / self.noise_std**2
        return y

    def _symbols(
        self, bits: np.ndarray, rng: np.random.Generator, hard_out: np.ndarray | None = None
    ) -> np.ndarray | None:
        """Draw y chunk by chunk; with ``hard_out`` keep only the decisions y < 0.

        Both modes consume the rng identically, which is what ties ``__call__``
        to ``llr``; the hard mode just never holds all of y in memory.
        """
        flat_bits = bits.reshape(-1)
        n = flat_bits.size
        y = np.empty(n if hard_out is None else min(n, _CHUNK), dtype=np.float64)
        flat_out = None if hard_out is None else hard_out.reshape(-1)
        sigma = self.noise_std
        for start in range(0, n, _CHUNK):
            stop = min(n, start + _CHUNK)
            seg = y[start:stop] if flat_out is None else y[: stop - start]
            rng.standard_normal(out=seg)
            seg *= sigma
            # y = (1 - 2 b) + noise, without a float copy of all the bits
            seg -= 2.0 * flat_bits[start:stop]
            seg += 1.0
            if flat_out is not None:
                np.less(seg, 0.0, out=flat_out[start:stop], casting="unsafe")
        return y.reshape(bits.shape) if hard_out is None else None

    def _transmit(self, out: np.ndarray, rng: np.random.Generator) -> Received:
        self._symbols(out, rng, hard_out=out)
        return no_erasures(out)

    def bit_error_rate(self) -> float:
        return q_function(math.sqrt(2.0 * self.esn0))

    def erasure_rate(self) -> float:
        return 0.0

    def capacity(self) -> float:
        """Capacity of the hard-decision channel (a BSC with the raw BER), per symbol."""
        return 1.0 - binary_entropy(self.bit_error_rate())
