"""Symbols <-> bits. Exact, vectorized, and total: any bit pattern unpacks to something.

Layout, per image (one row): when L is a power of two each symbol takes log2 L bits,
most significant bit first, symbols in order (``dim * log2 L`` bits). Otherwise the
symbol vector is read as one base-L number (first symbol most significant) and written
in ``ceil(dim * log2 L)`` bits, MSB first; bit patterns >= L**dim cannot come from the
transmitter and are reported as invalid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: what the receiver puts in place of a symbol it lost (semcom.transceiver.fill_levels)
ERASURE_POLICIES = ("mode", "center", "zero")

MAPPINGS = ("natural", "gray")


def bits_per_symbol(levels: int) -> int | None:
    """log2 L when L is a power of two, else None (base-L packing)."""
    b = levels.bit_length() - 1
    return b if levels == 1 << b else None


def payload_bits(dim: int, levels: int) -> int:
    b = bits_per_symbol(levels)
    if b is not None:
        return dim * b
    return math.ceil(dim * math.log2(levels) - 1e-12)


def gray_encode(x):
    """Index -> Gray code; works on numpy arrays and torch tensors alike."""
    return x ^ (x >> 1)


def gray_decode(g, width: int):
    """Gray code -> index for codes of ``width`` bits (numpy arrays or torch tensors)."""
    x = g
    shift = 1
    while shift < width:
        x = x ^ (x >> shift)
        shift <<= 1
    return x


@dataclass(frozen=True)
class Unpacked:
    """What the receiver learns from a row of bits."""

    indices: np.ndarray  # int64 (N, dim); 0 where the symbol is unusable
    erased: np.ndarray  # bool (N, dim): the symbol could not be read (erased or invalid bits)
    invalid: np.ndarray  # bool (N,): the row held a bit pattern the transmitter never sends


@dataclass(frozen=True)
class BitPacker:
    """Packs (N, dim) indices in [0, L) to (N, n_bits) uint8 bits and back.

    ``mapping="gray"`` writes each symbol's index in Gray code (power-of-two L only), so
    a single flipped bit moves the symbol to a neighbouring level more often.
    """

    dim: int
    levels: int
    mapping: str = "natural"

    def __post_init__(self) -> None:
        if self.dim < 1 or self.levels < 2:
            raise ValueError(f"need dim >= 1 and levels >= 2, got dim={self.dim}, levels={self.levels}")
        if self.mapping not in MAPPINGS:
            raise ValueError(f"mapping must be one of {MAPPINGS}, got {self.mapping!r}")
        if self.mapping == "gray" and bits_per_symbol(self.levels) is None:
            raise ValueError(f"gray mapping needs L a power of two, got L={self.levels}")

    @property
    def n_bits(self) -> int:
        return payload_bits(self.dim, self.levels)

    # -- transmit ---------------------------------------------------------------------
    def pack(self, indices: np.ndarray) -> np.ndarray:
        idx = np.asarray(indices)
        if idx.ndim != 2 or idx.shape[1] != self.dim:
            raise ValueError(f"expected indices of shape (N, {self.dim}), got {idx.shape}")
        if not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(f"indices must be integers, got dtype {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= self.levels):
            raise ValueError(f"indices must lie in [0, {self.levels}), got [{idx.min()}, {idx.max()}]")
        idx = idx.astype(np.int64)
        b = bits_per_symbol(self.levels)
        if b is not None:
            if self.mapping == "gray":
                idx = gray_encode(idx)
            shifts = np.arange(b - 1, -1, -1, dtype=np.int64)
            return ((idx[:, :, None] >> shifts) & 1).astype(np.uint8).reshape(len(idx), self.dim * b)
        return _base_l_to_bits(idx, self.levels, self.n_bits)

    # -- receive ----------------------------------------------------------------------
    def unpack(self, bits: np.ndarray, erased: np.ndarray | None = None) -> Unpacked:
        """Never raises on a 0/1 pattern: any one is read. Wrong shapes and values that are
        not bits (2, -1, 0.4, NaN, strings) raise ValueError instead of being read as 1."""
        bits = np.asarray(bits)
        if bits.ndim != 2 or bits.shape[1] != self.n_bits:
            raise ValueError(f"expected bits of shape (N, {self.n_bits}), got {bits.shape}")
        if bits.dtype != np.bool_:
            if not np.issubdtype(bits.dtype, np.integer):
                raise ValueError(f"bits must be integers or bools of value 0 or 1, got dtype {bits.dtype}")
            if bits.size and (bits.min() < 0 or bits.max() > 1):
                bad = bits[(bits < 0) | (bits > 1)].flat[0]
                raise ValueError(f"bits must be 0 or 1, got the value {bad}")
        bits = bits.astype(np.int64)
        erased_bits = np.zeros(bits.shape, bool) if erased is None else np.asarray(erased, dtype=bool)
        if erased_bits.shape != bits.shape:
            raise ValueError(f"erasure mask shape {erased_bits.shape} differs from bits shape {bits.shape}")
        bits = np.where(erased_bits, 0, bits)
        n = len(bits)
        b = bits_per_symbol(self.levels)
        if b is not None:
            grouped = bits.reshape(n, self.dim, b)
            weights = 1 << np.arange(b - 1, -1, -1, dtype=np.int64)
            idx = grouped @ weights
            if self.mapping == "gray":
                idx = gray_decode(idx, b)
            sym_erased = erased_bits.reshape(n, self.dim, b).any(axis=2)
            invalid = np.zeros(n, bool)
        else:
            idx, invalid = _bits_to_base_l(bits, self.levels, self.dim)
            sym_erased = np.repeat((erased_bits.any(axis=1) | invalid)[:, None], self.dim, axis=1)
        idx = np.where(sym_erased, 0, idx)
        return Unpacked(indices=idx.astype(np.int64), erased=sym_erased, invalid=invalid)


def _base_l_to_bits(idx: np.ndarray, levels: int, n_bits: int) -> np.ndarray:
    """Long division of base-L digit rows by 2, vectorized over rows (exact for any size)."""
    digits = idx.copy()
    out = np.zeros((len(idx), n_bits), np.uint8)
    for k in range(n_bits - 1, -1, -1):
        remainder = np.zeros(len(idx), np.int64)
        for j in range(digits.shape[1]):
            cur = remainder * levels + digits[:, j]
            digits[:, j] = cur >> 1
            remainder = cur & 1
        out[:, k] = remainder
    return out


def _bits_to_base_l(bits: np.ndarray, levels: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`_base_l_to_bits`; rows whose value is >= L**dim are flagged invalid."""
    n, n_bits = bits.shape
    digits = np.zeros((n, dim), np.int64)
    overflow = np.zeros(n, bool)
    for k in range(n_bits):
        carry = bits[:, k].copy()
        for j in range(dim - 1, -1, -1):
            cur = digits[:, j] * 2 + carry
            digits[:, j] = cur % levels
            carry = cur // levels
        overflow |= carry > 0
    return digits, overflow
