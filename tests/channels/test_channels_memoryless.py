"""Statistical and structural checks for Clean, BSC and BEC, and the samplers under them."""

import math

import numpy as np
import pytest

import channels
from channels import _sampling

N_ROWS, N_BITS = 125_000, 8  # 10^6 bits: tight 5-sigma bounds, still fast


def assert_binomial(count, n, p, z=5.0):
    """|count - n p| within z binomial standard deviations (exact for p in {0, 1})."""
    sd = math.sqrt(n * p * (1.0 - p))
    assert abs(count - n * p) <= z * sd + 1e-9, (count, n, p, (count - n * p) / max(sd, 1e-300))


def random_bits(seed=0, shape=(N_ROWS, N_BITS)):
    return np.random.default_rng(seed).integers(0, 2, size=shape, dtype=np.uint8)


# --- Clean -----------------------------------------------------------------


def test_clean_is_identity_and_consumes_no_randomness():
    bits = random_bits()
    rng = np.random.default_rng(1)
    before = rng.bit_generator.state
    out = channels.Clean()(bits, rng)
    assert np.array_equal(out.bits, bits)
    assert not out.erased.any()
    assert rng.bit_generator.state == before
    assert not np.shares_memory(out.bits, bits)


# --- BSC -------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.0, 0.001, 0.05, 0.3, 0.5])
def test_bsc_flip_rate_matches_p(p):
    bits = random_bits()
    out = channels.BinarySymmetric(p=p)(bits, np.random.default_rng(42))
    flips = np.count_nonzero(out.bits != bits)
    assert_binomial(flips, bits.size, p)
    assert not out.erased.any()
    if p == 0.0:
        assert flips == 0


@pytest.mark.parametrize("p", [0.05, 0.3])
def test_bsc_flip_pattern_does_not_depend_on_input(p):
    ch = channels.BinarySymmetric(p=p)
    zeros = np.zeros((1000, 16), dtype=np.uint8)
    ones = np.ones_like(zeros)
    pattern0 = ch(zeros, np.random.default_rng(7)).bits ^ zeros
    pattern1 = ch(ones, np.random.default_rng(7)).bits ^ ones
    assert pattern0.any()
    assert np.array_equal(pattern0, pattern1)


@pytest.mark.parametrize("p", [0.1, 0.3])  # sparse-gap path and uniform path
def test_bsc_adjacent_flips_are_independent(p):
    """A wrong gap law (e.g. off-by-one) would distort P(flip_i and flip_i+1) away from p^2."""
    bits = np.zeros(10**6, dtype=np.uint8)
    flips = channels.BinarySymmetric(p=p)(bits, np.random.default_rng(3)).bits.astype(bool)
    pairs = np.count_nonzero(flips[1:] & flips[:-1])
    n, q = bits.size - 1, p * p
    sd = math.sqrt(n * (q * (1 - q) + 2 * (p**3 - p**4)))  # 1-dependent pair indicators
    assert abs(pairs - n * q) <= 5 * sd


def test_bsc_rates_and_capacity():
    ch = channels.BinarySymmetric(p=0.11)
    assert ch.bit_error_rate() == 0.11
    assert ch.erasure_rate() == 0.0
    assert ch.capacity() == pytest.approx(0.5, abs=1e-3)
    assert channels.BinarySymmetric(p=0.5).capacity() == 0.0
    assert channels.BinarySymmetric(p=0.0).capacity() == 1.0


# --- BEC -------------------------------------------------------------------


@pytest.mark.parametrize("epsilon", [0.0, 0.01, 0.1, 0.5, 0.9, 1.0])
def test_bec_erasure_rate_and_payload(epsilon):
    bits = random_bits()
    out = channels.BinaryErasure(epsilon=epsilon)(bits, np.random.default_rng(5))
    assert_binomial(out.n_erased, bits.size, epsilon)
    assert out.erased.dtype == np.bool_
    assert not out.bits[out.erased].any(), "erased positions must hold 0"
    assert np.array_equal(out.bits[~out.erased], bits[~out.erased]), "no flips on a BEC"


def test_bec_rates_and_capacity():
    ch = channels.BinaryErasure(epsilon=0.25)
    assert ch.erasure_rate() == 0.25
    assert ch.bit_error_rate() == 0.0
    assert ch.capacity() == 0.75


# --- samplers ----------------------------------------------------------------


@pytest.mark.parametrize("p", [1e-4, 0.15, 0.5, 0.85, 0.99999])  # sparse, dense, complement
def test_bernoulli_mask_rate(p):
    n = 10**6
    mask = _sampling.bernoulli_mask(np.random.default_rng(11), n, p)
    assert mask.shape == (n,) and mask.dtype == np.bool_
    assert_binomial(np.count_nonzero(mask), n, p)
    # both halves at the right rate: catches samplers that stop early or start late
    assert_binomial(np.count_nonzero(mask[n // 2 :]), n - n // 2, p)


def test_success_positions_continues_when_first_chunk_falls_short():
    n, p = 10**6, 1e-3
    pos = _sampling.success_positions(np.random.default_rng(2), n, p, chunk=7)
    assert np.all(np.diff(pos) > 0), "positions must be strictly increasing"
    assert pos[0] >= 0 and pos[-1] < n
    assert_binomial(pos.size, n, p)
    assert_binomial(np.count_nonzero(pos >= 9 * n // 10), n // 10, p)


def test_geometric_law_and_clipping():
    g = _sampling.geometric(np.random.default_rng(4), 0.3, 10**5, cap=10**9)
    assert g.min() >= 1
    assert_binomial(np.count_nonzero(g == 1), g.size, 0.3)  # P(X = 1) = p
    assert_binomial(np.count_nonzero(g > 3), g.size, 0.7**3)  # P(X > k) = (1-p)^k
    tiny = _sampling.geometric(np.random.default_rng(4), 1e-300, 1000, cap=50)
    assert np.all(tiny == 51), "tiny p must clip to cap + 1, never overflow"
    assert np.all(_sampling.geometric(np.random.default_rng(4), 1.0, 5, cap=50) == 1)
