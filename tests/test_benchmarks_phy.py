"""benchmarks/suite_phy.py's correctness helpers, on a small link (k = 64): the fast path against the
direct path with the fast path's own noise, sign-coupled; and the BLER agreement band."""

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sionna")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import suite_phy  # noqa: E402
from channels.phy import CodedLink  # noqa: E402


@pytest.mark.parametrize("fading", ["awgn", "rayleigh"])
def test_coupled_direct_path_equals_the_fast_path_bit_for_bit(fading):
    link = CodedLink(snr_db=1.0 if fading == "awgn" else 7.0, snr="esn0", k=64, n=128, fading=fading)
    payloads = [np.random.default_rng(i).integers(0, 2, (240, 8)).astype(np.uint8) for i in range(2)]
    seed = np.random.SeedSequence(3)
    check = suite_phy.bit_exact_check(link, payloads, seed)
    assert check["pattern_reproduced"] and check["identical"] and check["identical_codecs"] == 2
    assert 0 < check["failed"] < check["codewords"] == 40  # some codewords fail, some pass: not vacuous
    # the comparison has teeth: with independent noise the direct path delivers other erasures
    fast = link(payloads[0], np.random.default_rng(seed))
    other = suite_phy.direct_twin(link)(payloads[0], np.random.default_rng(seed))
    assert not np.array_equal(fast.erased, other.erased)
    fail, n = suite_phy.block_errors(fast, link.digits_per_codeword(8))
    assert (fail, n) == (check["failed"], 40)


def test_codeword_layout_round_trips():
    link = CodedLink(snr_db=1.0, snr="esn0", k=64, n=128)
    bits = np.random.default_rng(0).integers(0, 2, (25, 8)).astype(np.uint8)  # 6 digits per codeword: 5 codewords
    payload = suite_phy.to_codewords(link, bits)
    assert payload.shape == (5, link.payload_bits)
    ok = np.array([True, False, True, True, True])
    got = suite_phy.to_digits(link, payload, ok, bits.shape)
    assert got.erased[6:12].all() and not got.erased[:6].any() and not got.erased[12:].any()
    np.testing.assert_array_equal(got.bits[~got.erased], bits[~got.erased])
    assert suite_phy.block_errors(got, 6) == (1, 5)


def test_bler_band():
    assert suite_phy.bler_band(30, 67, 100, 201)[0]  # 0.45 vs 0.50
    assert not suite_phy.bler_band(0, 67, 150, 201)[0]  # 0 vs 0.75
    assert suite_phy.bler_band(0, 67, 0, 201)[0] and suite_phy.bler_band(67, 67, 201, 201)[0]
