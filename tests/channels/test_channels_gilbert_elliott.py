"""Gilbert-Elliott: stationary error rate, burst structure, degenerate chains."""

import math

import numpy as np
import pytest

import channels

N_ROWS, N_BITS = 125_000, 8


def zeros():
    return np.zeros((N_ROWS, N_BITS), dtype=np.uint8)


def stream_errors(ch, seed):
    """Error indicators in serial (C) order; zeros input makes out.bits the error pattern."""
    return ch(zeros(), np.random.default_rng(seed)).bits.reshape(-1).astype(bool)


def run_lengths(x):
    """Lengths of maximal runs of True, excluding runs touching either end (censored)."""
    edges = np.diff(x.astype(np.int8))
    starts = np.flatnonzero(edges == 1) + 1
    ends = np.flatnonzero(edges == -1) + 1
    if x[0]:
        ends = ends[1:]
    starts = starts[: ends.size]
    return ends - starts


def test_stationary_error_rate():
    ch = channels.GilbertElliott(
        p_good_to_bad=0.01, p_bad_to_good=0.1, error_good=0.001, error_bad=0.3
    )
    pi_b = 0.01 / 0.11
    rate = (1 - pi_b) * 0.001 + pi_b * 0.3
    assert ch.bit_error_rate() == pytest.approx(rate)
    errors = stream_errors(ch, 1)
    n = errors.size
    # error indicators are correlated through the state: Cov(X_i, X_j) = d^2 piG piB lam^|i-j|
    lam = 1 - 0.01 - 0.1
    var = n * (rate * (1 - rate) + 2 * (0.3 - 0.001) ** 2 * pi_b * (1 - pi_b) * lam / (1 - lam))
    assert abs(errors.sum() - n * rate) <= 5 * math.sqrt(var)


def test_state_chain_has_the_right_sojourn_laws():
    """With error_good=0, error_bad=1 the errors are the state sequence itself."""
    p_gb, p_bg = 0.02, 0.2
    ch = channels.GilbertElliott(p_gb, p_bg, error_good=0.0, error_bad=1.0)
    bad = stream_errors(ch, 2)
    n, pi_b, lam = bad.size, p_gb / (p_gb + p_bg), 1 - p_gb - p_bg
    assert abs(bad.sum() - n * pi_b) <= 5 * math.sqrt(n * pi_b * (1 - pi_b) * (1 + lam) / (1 - lam))
    bursts, gaps = run_lengths(bad), run_lengths(~bad)
    for runs, q in ((bursts, p_bg), (gaps, p_gb)):  # geometric on {1, 2, ...}
        assert runs.size > 1000
        assert abs(runs.mean() - 1 / q) <= 5 * math.sqrt((1 - q) / q**2 / runs.size)
        p1 = np.mean(runs == 1)
        assert abs(p1 - q) <= 5 * math.sqrt(q * (1 - q) / runs.size)


def test_errors_are_bursty():
    p_gb, p_bg, e_g, e_b = 0.01, 0.1, 0.001, 0.5
    errors = stream_errors(channels.GilbertElliott(p_gb, p_bg, e_g, e_b), 3)
    marginal = errors.mean()
    conditional = np.count_nonzero(errors[1:] & errors[:-1]) / np.count_nonzero(errors[:-1])
    # P(err_i and err_{i+1}) = sum_s pi_s e_s sum_t P(s->t) e_t
    pi_b = p_gb / (p_gb + p_bg)
    joint = (1 - pi_b) * e_g * ((1 - p_gb) * e_g + p_gb * e_b) + pi_b * e_b * (
        p_bg * e_g + (1 - p_bg) * e_b
    )
    expected = joint / ((1 - pi_b) * e_g + pi_b * e_b)
    assert conditional > 5 * marginal
    assert conditional == pytest.approx(expected, rel=0.1)


def test_bursts_cross_row_boundaries():
    """The chain runs over the serial stream, not restarting per row."""
    ch = channels.GilbertElliott(0.01, 0.05, error_good=0.0, error_bad=1.0)
    bad = ch(zeros(), np.random.default_rng(4)).bits.astype(bool)
    last, next_first = bad[:-1, -1], bad[1:, 0]
    across = np.count_nonzero(last & next_first) / np.count_nonzero(last)
    assert across == pytest.approx(1 - 0.05, abs=0.02)


def test_each_call_starts_in_the_stationary_distribution():
    ch = channels.GilbertElliott(0.3, 0.3, error_good=0.0, error_bad=1.0)  # pi_B = 0.5
    rng = np.random.default_rng(5)
    one_bit = np.zeros(1, dtype=np.uint8)
    starts_bad = sum(int(ch(one_bit, rng).bits[0]) for _ in range(2000))
    assert abs(starts_bad - 1000) <= 5 * math.sqrt(2000 * 0.25)


def test_equal_error_probabilities_behave_like_bsc():
    p = 0.05
    errors = stream_errors(channels.GilbertElliott(0.01, 0.1, error_good=p, error_bad=p), 6)
    n = errors.size
    assert abs(errors.sum() - n * p) <= 5 * math.sqrt(n * p * (1 - p))
    pairs = np.count_nonzero(errors[1:] & errors[:-1])
    assert abs(pairs - n * p * p) <= 6 * math.sqrt(n * p * p)


def test_absorbing_and_alternating_chains():
    z = np.zeros(10_000, dtype=np.uint8)
    rng = np.random.default_rng(7)
    # never leaves good (stationary start is good with probability 1)
    assert not channels.GilbertElliott(0.0, 0.5, 0.0, 1.0)(z, rng).bits.any()
    # never leaves bad
    assert channels.GilbertElliott(0.5, 0.0, 0.0, 1.0)(z, rng).bits.all()
    # switches every bit
    alt = channels.GilbertElliott(1.0, 1.0, 0.0, 1.0)(z, rng).bits
    assert np.all(alt[1:] != alt[:-1])
    # near-frozen chain: huge geometric sojourns must not overflow
    frozen = channels.GilbertElliott(1e-12, 1e-12).sample_states(10**5, rng)
    assert frozen.shape == (10**5,) and (frozen.all() or not frozen.any())


def test_sample_states_sizes():
    ch = channels.GilbertElliott(0.1, 0.2)
    rng = np.random.default_rng(8)
    for n in (0, 1, 2, 17, 12_345):
        s = ch.sample_states(n, rng)
        assert s.shape == (n,) and s.dtype == np.bool_
    assert ch.stationary_bad == pytest.approx(1 / 3)
    assert ch.mean_burst_length == pytest.approx(5.0)
    assert ch.erasure_rate() == 0.0
