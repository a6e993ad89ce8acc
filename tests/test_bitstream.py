import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semcom.bitstream import BitPacker, payload_bits


@pytest.mark.parametrize("dim,levels", [(4, 4), (8, 2), (2, 16), (1, 256), (5, 3), (7, 5), (30, 10), (3, 6)])
def test_round_trip_random(dim, levels):
    rng = np.random.default_rng(dim * 100 + levels)
    idx = rng.integers(0, levels, size=(2000, dim))
    p = BitPacker(dim, levels)
    bits = p.pack(idx)
    assert bits.shape == (2000, payload_bits(dim, levels)) and bits.dtype == np.uint8
    assert set(np.unique(bits)) <= {0, 1}
    out = p.unpack(bits)
    assert np.array_equal(out.indices, idx) and not out.erased.any() and not out.invalid.any()


def test_payload_sizes():
    assert payload_bits(4, 4) == 8      # dim * log2 L
    assert payload_bits(6, 4) == 12
    assert payload_bits(5, 3) == 8      # ceil(5 * 1.585) = 8
    assert payload_bits(7, 5) == 17     # ceil(16.25)
    assert payload_bits(3, 10) == 10    # ceil(9.97)


def test_base_l_uses_all_states_minimally():
    # 3**5 = 243 <= 256 = 2**8: every symbol vector fits, the maximum maps to 242
    p = BitPacker(5, 3)
    top = p.pack(np.full((1, 5), 2))
    assert int("".join(map(str, top[0])), 2) == 242


def test_erasure_marks_only_affected_symbols():
    p = BitPacker(4, 4)
    idx = np.array([[0, 1, 2, 3]])
    bits = p.pack(idx)
    erased = np.zeros_like(bits, bool)
    erased[0, 3] = True  # second bit of symbol 1
    out = p.unpack(bits, erased)
    assert out.erased.tolist() == [[False, True, False, False]]
    assert out.indices[0, 0] == 0 and out.indices[0, 2] == 2 and out.indices[0, 3] == 3


def test_invalid_base_l_patterns_are_flagged_not_crashing():
    p = BitPacker(5, 3)  # values 243..255 never sent
    bits = np.array([[1] * 8], dtype=np.uint8)
    out = p.unpack(bits)
    assert out.invalid.tolist() == [True] and out.erased.all()
    assert (out.indices >= 0).all() and (out.indices < 3).all()


def test_gray_mapping_single_flip_moves_to_neighbour_level_more_often():
    p_nat, p_gray = BitPacker(1, 16), BitPacker(1, 16, "gray")
    levels = np.arange(16)[:, None]
    for p in (p_nat, p_gray):
        assert np.array_equal(p.unpack(p.pack(levels)).indices, levels)
    # Gray: neighbouring levels differ in exactly one bit
    g = p_gray.pack(levels)
    assert ((g[1:] != g[:-1]).sum(axis=1) == 1).all()
    n = p_nat.pack(levels)
    assert ((n[1:] != n[:-1]).sum(axis=1) > 1).any()


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.integers(2, 12), st.binary(min_size=0, max_size=400), st.binary(max_size=400))
def test_unpack_never_crashes_on_random_bits(dim, levels, raw, mask_raw):
    p = BitPacker(dim, levels)
    n_bits = p.n_bits
    rows = len(raw) // n_bits
    raw_bytes = np.frombuffer(raw[: rows * n_bits], dtype=np.uint8).reshape(rows, n_bits)  # any byte values
    if (raw_bytes > 1).any():  # not bits: refused, never read as 1
        with pytest.raises(ValueError, match="bits must be 0 or 1"):
            p.unpack(raw_bytes)
    bits = raw_bytes % 2
    mask = np.zeros(bits.shape, bool)
    m = np.frombuffer(mask_raw, dtype=np.uint8)[: mask.size]
    mask.flat[: len(m)] = m % 2 == 1
    out = p.unpack(bits, mask)
    assert out.indices.shape == (rows, dim)
    assert ((out.indices >= 0) & (out.indices < levels)).all()
    # a row with an erased bit always has at least one symbol marked erased
    row_hit = mask.any(axis=1)
    assert (out.erased.any(axis=1) | ~row_hit).all()


def test_pack_rejects_out_of_range_and_bad_shapes():
    p = BitPacker(4, 4)
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        p.pack(np.array([[0, 1, 2, 4]]))
    with pytest.raises(ValueError, match="shape"):
        p.pack(np.zeros((3, 5), int))
    with pytest.raises(ValueError, match="shape"):
        p.unpack(np.zeros((3, 7), np.uint8))


@pytest.mark.parametrize("bad", [np.array([[0, 2, 0, 1]]), np.array([[0, -1, 0, 1]]), np.array([[0, 0.4, 0, 1]]),
                                 np.array([[0, np.nan, 0, 1]]), np.array([["0", "1", "0", "1"]])])
def test_receiver_rejects_values_that_are_not_bits(bad):
    from semcom.bitstream import BitPacker

    with pytest.raises(ValueError, match="bits must be"):
        BitPacker(2, 4).unpack(bad)
    # bools and 0/1 integers of any width are bits
    assert BitPacker(2, 4).unpack(np.array([[0, 1, 1, 0]], np.uint8)).indices.tolist() == [[1, 2]]
    assert BitPacker(2, 4).unpack(np.array([[False, True, True, False]])).indices.tolist() == [[1, 2]]
