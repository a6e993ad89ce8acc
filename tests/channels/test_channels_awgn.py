"""BPSK/AWGN: BER against Q(sqrt(2 Rc Eb/N0)) and LLR statistics."""

import math

import numpy as np
import pytest

import channels

N = 10**6


def random_bits(seed=0, n=N):
    return np.random.default_rng(seed).integers(0, 2, size=(n // 8, 8), dtype=np.uint8)


@pytest.mark.parametrize(
    "ebn0_db, code_rate", [(0.0, 1.0), (2.0, 1.0), (4.0, 1.0), (6.0, 1.0), (4.0, 0.5)]
)
def test_hard_decision_ber_matches_q_function(ebn0_db, code_rate):
    ch = channels.AWGN(ebn0_db=ebn0_db, code_rate=code_rate)
    expected = channels.q_function(math.sqrt(2 * code_rate * 10 ** (ebn0_db / 10)))
    assert ch.bit_error_rate() == pytest.approx(expected, rel=1e-12)
    bits = random_bits()
    out = ch(bits, np.random.default_rng(1))
    errors = np.count_nonzero(out.bits != bits)
    sd = math.sqrt(bits.size * expected * (1 - expected))
    assert abs(errors - bits.size * expected) <= 5 * sd
    assert not out.erased.any()


def test_hard_decision_is_sign_of_llr_for_same_noise():
    ch = channels.AWGN(ebn0_db=1.0, code_rate=0.5)
    bits = random_bits(n=80_000)
    hard = ch(bits, np.random.default_rng(9)).bits
    llr = ch.llr(bits, np.random.default_rng(9))
    assert llr.dtype == np.float64 and llr.shape == bits.shape
    assert np.array_equal(hard, (llr < 0).astype(np.uint8))
    assert np.count_nonzero(hard != bits) > 0  # there were errors to agree on


@pytest.mark.parametrize("ebn0_db, code_rate", [(0.0, 1.0), (3.0, 0.5)])
def test_llr_is_consistent_gaussian(ebn0_db, code_rate):
    """For bit 0, LLR = 2y/sigma^2 ~ N(mu, 2 mu) with mu = 2/sigma^2 = 4 Rc Eb/N0."""
    ch = channels.AWGN(ebn0_db=ebn0_db, code_rate=code_rate)
    mu = 4 * code_rate * 10 ** (ebn0_db / 10)
    for bit, sign in ((0, 1.0), (1, -1.0)):
        llr = ch.llr(np.full(N, bit, dtype=np.uint8), np.random.default_rng(2 + bit))
        var = 2 * mu
        assert abs(llr.mean() - sign * mu) <= 5 * math.sqrt(var / N)
        assert abs(llr.var() - var) <= 5 * var * math.sqrt(2 / N)


def test_observe_returns_bpsk_symbols_plus_noise():
    ch = channels.AWGN(ebn0_db=10.0)
    bits = np.array([0, 1] * 50_000, dtype=np.uint8)
    y = ch.observe(bits, np.random.default_rng(0))
    assert y[bits == 0].mean() == pytest.approx(1.0, abs=0.01)
    assert y[bits == 1].mean() == pytest.approx(-1.0, abs=0.01)
    assert y.std() == pytest.approx(math.sqrt(1 + ch.noise_std**2), rel=0.01)
    assert ch.noise_std == pytest.approx(math.sqrt(1 / (2 * 10.0)))


def test_capacity_is_hard_decision_bsc_capacity():
    ch = channels.AWGN(ebn0_db=2.0)
    assert ch.capacity() == pytest.approx(
        channels.BinarySymmetric(p=ch.bit_error_rate()).capacity()
    )
    assert channels.AWGN(ebn0_db=0.0).capacity() < ch.capacity() < channels.AWGN(8.0).capacity()
    assert ch.erasure_rate() == 0.0


def test_q_function_values():
    assert channels.q_function(0.0) == 0.5
    assert isinstance(channels.q_function(1.0), float)
    assert channels.q_function(1.959963984540054) == pytest.approx(0.025, rel=1e-12)
    assert channels.q_function(10.0) == pytest.approx(7.619853024160527e-24, rel=1e-9)
    x = np.array([-1.0, 0.0, 2.0])
    q = channels.q_function(x)
    assert isinstance(q, np.ndarray)
    assert np.allclose(q, [0.5 * math.erfc(v / math.sqrt(2)) for v in x], rtol=1e-14)
