"""CRCs over bit arrays: catalogue check values, agreement with zlib/binascii, error detection."""

import binascii
import zlib

import numpy as np
import pytest

from semcom.netsim import CRC_POLYS, bytes_to_bits, crc_bits, crc_check, crc_value

CHECK = b"123456789"


def reflect(value: int, width: int) -> int:
    return int(f"{value:0{width}b}"[::-1], 2)


def reference_crc(bits, width, poly, init, xorout):
    """Textbook bit-serial MSB-first CRC, one bit at a time in pure Python."""
    reg, top, mask = init, 1 << (width - 1), (1 << width) - 1
    for b in bits:
        fb = bool(reg & top) ^ bool(b)
        reg = (reg << 1) & mask
        if fb:
            reg ^= poly
    return reg ^ xorout


@pytest.mark.parametrize(
    "kind,expected", [("crc8", 0xF4), ("crc16", 0x29B1), ("crc32", 0xFC891918)]
)
def test_check_values_of_123456789(kind, expected):
    bits = bytes_to_bits(CHECK)
    assert int(crc_value(bits, kind)) == expected
    assert CRC_POLYS[kind].check == expected
    # crc_bits is the same value, MSB first
    got = crc_bits(bits[None, :], kind)[0]
    assert int("".join(map(str, got)), 2) == expected


def test_crc16_matches_binascii_crc_hqx_on_bytes():
    rng = np.random.default_rng(5)
    for n in [0, 1, 2, 7, 33, 100]:
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert int(crc_value(bytes_to_bits(data), "crc16")) == binascii.crc_hqx(data, 0xFFFF)


def test_crc32_is_bzip2_variant_and_relates_to_zlib_by_reflection():
    """zlib's reflected CRC-32 == reflect32(our non-reflected CRC of LSB-first bits)."""
    assert reflect(int(crc_value(bytes_to_bits(CHECK, lsb_first=True), "crc32")), 32) == 0xCBF43926
    rng = np.random.default_rng(6)
    for n in [1, 5, 64, 301]:
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        ours = int(crc_value(bytes_to_bits(data, lsb_first=True), "crc32"))
        assert reflect(ours, 32) == zlib.crc32(data)


@pytest.mark.parametrize("kind", ["crc8", "crc16", "crc32"])
def test_unaligned_lengths_match_bitwise_reference(kind):
    spec = CRC_POLYS[kind]
    rng = np.random.default_rng(7)
    for length in [1, 3, 8, 13, 56, 61]:
        bits = rng.integers(0, 2, (4, length), dtype=np.uint8)
        got = crc_value(bits, kind)
        for row, value in zip(bits, got):
            ref = reference_crc(row.tolist(), spec.width, spec.poly, spec.init, spec.xorout)
            assert int(value) == ref, (kind, length)


def packets_with_crc(kind, n, length, seed):
    data = np.random.default_rng(seed).integers(0, 2, (n, length), dtype=np.uint8)
    return np.concatenate([data, crc_bits(data, kind)], axis=1)


@pytest.mark.parametrize("kind", ["none", "crc8", "crc16", "crc32"])
def test_unmodified_packets_pass(kind):
    for length in [1, 40, 57]:
        pk = packets_with_crc(kind, 500, length, seed=length)
        ok = crc_check(pk, kind)
        assert ok.shape == (500,) and ok.dtype == bool and ok.all()


@pytest.mark.parametrize("kind", ["crc8", "crc16", "crc32"])
def test_every_single_bit_error_is_detected(kind):
    pk = packets_with_crc(kind, 1, 61, seed=3)[0]
    n = pk.size
    flipped = np.tile(pk, (n, 1)) ^ np.eye(n, dtype=np.uint8)  # row i: bit i flipped (CRC bits too)
    assert not crc_check(flipped, kind).any()


def test_crc16_detects_every_burst_up_to_16_bits():
    pk = packets_with_crc("crc16", 1, 48, seed=4)[0]
    n, rows = pk.size, []
    for length in range(2, 17):
        for start in range(n - length + 1):
            e = np.zeros(n, dtype=np.uint8)
            e[start] = e[start + length - 1] = 1  # burst ends are always flipped
            inner = np.random.default_rng(start).integers(0, 2, length - 2)
            e[start + 1 : start + length - 1] = inner
            rows.append(pk ^ e)
    assert not crc_check(np.array(rows), "crc16").any()


def test_none_has_no_bits_and_always_passes():
    bits = np.random.default_rng(0).integers(0, 2, (10, 9), dtype=np.uint8)
    assert crc_bits(bits, "none").shape == (10, 0)
    assert crc_check(bits, "none").all()


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown CRC kind"):
        crc_bits(np.zeros((1, 8), np.uint8), "crc7")
    with pytest.raises(ValueError, match="only 0 and 1"):
        crc_bits(np.full((1, 8), 2, np.uint8), "crc8")
    with pytest.raises(ValueError, match="fewer than"):
        crc_check(np.zeros((1, 10), np.uint8), "crc16")
