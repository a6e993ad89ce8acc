"""Cyclic redundancy checks over bit arrays, vectorized across packets.

All CRCs here are the *non-reflected*, MSB-first, bit-serial variants: bit 0 of a
packet's bit vector enters the shift register first, and the CRC is appended
most-significant bit first. The register is processed eight bits at a time with a
256-entry table once the packet length is byte aligned (a bitwise pre-step handles
the first ``len % 8`` bits), so packets of any bit length work. Every packet of a
batch is processed at once: the Python loop runs over bit/byte *positions*, never
over packets.

Variants (names follow the reveng CRC catalogue):

================  ======  ==========  ==========  ==========  ==========  =========================
kind              width   poly        init        xorout      check       catalogue name
================  ======  ==========  ==========  ==========  ==========  =========================
``"none"``        0       --          --          --          --          no CRC (always passes)
``"crc8"``        8       0x07        0x00        0x00        0xF4        CRC-8/SMBUS
``"crc16"``       16      0x1021      0xFFFF      0x0000      0x29B1      CRC-16/CCITT-FALSE
``"crc32"``       32      0x04C11DB7  0xFFFFFFFF  0xFFFFFFFF  0xFC891918  CRC-32/BZIP2
================  ======  ==========  ==========  ==========  ==========  =========================

"check" is the CRC of the ASCII bytes ``b"123456789"`` fed MSB first. ``crc32``
uses the IEEE 802.3 polynomial but is the non-reflected (BZIP2) form, because a
bit vector has no byte boundaries to reflect within. It relates to zlib's
reflected CRC-32 (ISO-HDLC) by ``zlib.crc32(data) == reflect32(crc32_bits(data
fed LSB first per byte))``; :func:`bytes_to_bits` with ``lsb_first=True`` gives
that bit order, and the tests check the identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = [
    "CRC_POLYS",
    "CrcSpec",
    "bytes_to_bits",
    "crc_bits",
    "crc_check",
    "crc_value",
    "crc_width",
]


@dataclass(frozen=True)
class CrcSpec:
    """Parameters of one non-reflected CRC; ``width == 0`` means "no CRC"."""

    name: str
    width: int
    poly: int
    init: int
    xorout: int
    check: int | None  # CRC of b"123456789" (MSB first), None for "none"


#: Known CRC kinds, keyed by the name used in ``LinkConfig.crc``.
CRC_POLYS: dict[str, CrcSpec] = {
    "none": CrcSpec("none", 0, 0x0, 0x0, 0x0, None),
    "crc8": CrcSpec("CRC-8/SMBUS", 8, 0x07, 0x00, 0x00, 0xF4),
    "crc16": CrcSpec("CRC-16/CCITT-FALSE", 16, 0x1021, 0xFFFF, 0x0000, 0x29B1),
    "crc32": CrcSpec("CRC-32/BZIP2", 32, 0x04C11DB7, 0xFFFFFFFF, 0xFFFFFFFF, 0xFC891918),
}


def _spec(kind: str) -> CrcSpec:
    spec = CRC_POLYS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        raise ValueError(f"unknown CRC kind {kind!r}; expected one of {', '.join(CRC_POLYS)}")
    return spec


def crc_width(kind: str) -> int:
    """Number of CRC bits appended for ``kind`` (0 for ``"none"``)."""
    return _spec(kind).width


@lru_cache(maxsize=None)
def _table(kind: str) -> np.ndarray:
    """Byte-at-a-time table: register update for a top byte value, MSB first."""
    spec = _spec(kind)
    w, mask, top = spec.width, (1 << spec.width) - 1, 1 << (spec.width - 1)
    table = np.empty(256, dtype=np.uint64)
    for byte in range(256):
        reg = byte << (w - 8)
        for _ in range(8):
            reg = ((reg << 1) ^ spec.poly) if reg & top else (reg << 1)
            reg &= mask
        table[byte] = reg
    table.flags.writeable = False
    return table


def _as_bit_matrix(bits: object, what: str) -> tuple[np.ndarray, bool]:
    """Validate a 1-D or 2-D 0/1 array; return it as 2-D uint8 and whether it was 1-D."""
    if not isinstance(bits, np.ndarray):
        raise TypeError(f"{what}: bits must be a numpy array, got {type(bits).__name__}")
    if bits.dtype != np.bool_ and not np.issubdtype(bits.dtype, np.integer):
        raise TypeError(f"{what}: bits must have an integer or bool dtype, got {bits.dtype}")
    if bits.ndim not in (1, 2):
        raise ValueError(f"{what}: bits must be 1-D or 2-D (packets x bits), got {bits.ndim}-D")
    one_d = bits.ndim == 1
    b = np.ascontiguousarray(bits.reshape(1, -1) if one_d else bits, dtype=np.uint8)
    if b.size and b.max() > 1:
        raise ValueError(f"{what}: bits must contain only 0 and 1")
    return b, one_d


def _register(b: np.ndarray, spec: CrcSpec, kind: str) -> np.ndarray:
    """CRC values (uint64, xorout applied) of each row of the uint8 bit matrix ``b``."""
    n, length = b.shape
    w = spec.width
    mask = np.uint64((1 << w) - 1)
    poly = np.uint64(spec.poly)
    reg = np.full(n, spec.init, dtype=np.uint64)
    one, shift_top = np.uint64(1), np.uint64(w - 1)
    head = length % 8
    # Leading bits one at a time, so that the rest is byte aligned.
    for j in range(head):
        fb = ((reg >> shift_top) & one) ^ b[:, j].astype(np.uint64)
        reg = ((reg << one) & mask) ^ (fb * poly)
    if length > head:
        table = _table(kind)
        data = np.packbits(b[:, head:], axis=1)  # MSB first, (n, n_bytes)
        shift_byte, eight = np.uint64(w - 8), np.uint64(8)
        for j in range(data.shape[1]):
            idx = ((reg >> shift_byte) ^ data[:, j]) & np.uint64(0xFF)
            reg = ((reg << eight) & mask) ^ table[idx]
    return reg ^ np.uint64(spec.xorout)


def crc_value(bits: np.ndarray, kind: str) -> np.ndarray:
    """CRC of each packet as an integer: (n_packets,) uint64 (a scalar for 1-D input)."""
    spec = _spec(kind)
    b, one_d = _as_bit_matrix(bits, "crc_value")
    if spec.width == 0:
        out = np.zeros(b.shape[0], dtype=np.uint64)
    else:
        out = _register(b, spec, kind)
    return out[0] if one_d else out


def _value_to_bits(values: np.ndarray, width: int) -> np.ndarray:
    shifts = np.arange(width - 1, -1, -1, dtype=np.uint64)
    return ((values[:, None] >> shifts[None, :]) & np.uint64(1)).astype(np.uint8)


def crc_bits(bits: np.ndarray, kind: str) -> np.ndarray:
    """CRC bits (MSB first) of each packet: ``(n_packets, width)`` uint8.

    ``bits`` is ``(n_packets, packet_len)`` of 0/1 (a 1-D array is one packet and
    gives a 1-D result). For ``kind="none"`` the result has zero columns.
    """
    spec = _spec(kind)
    b, one_d = _as_bit_matrix(bits, "crc_bits")
    if spec.width == 0:
        out = np.zeros((b.shape[0], 0), dtype=np.uint8)
    else:
        out = _value_to_bits(_register(b, spec, kind), spec.width)
    return out[0] if one_d else out


def crc_check(bits_with_crc: np.ndarray, kind: str) -> np.ndarray:
    """Whether each packet's trailing CRC matches the CRC recomputed over the rest.

    ``bits_with_crc`` is ``(n_packets, data_len + width)``; returns ``(n_packets,)``
    bool (a 0-d bool for 1-D input). Always True for ``kind="none"``.
    """
    spec = _spec(kind)
    b, one_d = _as_bit_matrix(bits_with_crc, "crc_check")
    if b.shape[1] < spec.width:
        raise ValueError(
            f"crc_check: packets have {b.shape[1]} bits, fewer than the {spec.width}-bit {kind} CRC"
        )
    if spec.width == 0:
        ok = np.ones(b.shape[0], dtype=bool)
    else:
        data, received = b[:, : -spec.width], b[:, -spec.width :]
        shifts = np.arange(spec.width - 1, -1, -1, dtype=np.uint64)
        weighted = received.astype(np.uint64) << shifts[None, :]
        received_value = weighted.sum(axis=1, dtype=np.uint64)
        ok = _register(np.ascontiguousarray(data), spec, kind) == received_value
    return ok[0] if one_d else ok


def bytes_to_bits(data: bytes, lsb_first: bool = False) -> np.ndarray:
    """Bytes as a 1-D uint8 bit vector, MSB first per byte (or LSB first)."""
    arr = np.frombuffer(bytes(data), dtype=np.uint8)
    return np.unpackbits(arr, bitorder="little" if lsb_first else "big")
