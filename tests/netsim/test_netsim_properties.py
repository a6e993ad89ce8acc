"""Invariants of simulate_link over random configurations (hypothesis)."""

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import channels
from semcom.netsim import LinkConfig, simulate_link

CHANNELS = [
    channels.make("clean"),
    channels.make("bsc", p=0.05),
    channels.make("bec", epsilon=0.02),
    channels.make("packet_erasure", loss=0.3),
    channels.make("gilbert_elliott", p_good_to_bad=0.05, p_bad_to_good=0.3),
]

configs = st.builds(
    LinkConfig,
    bit_rate=st.sampled_from([1e4, 1e5, 1e6]),
    propagation_delay=st.sampled_from([0.0, 1e-4, 2e-3]),
    header_bits=st.integers(0, 40),
    crc=st.sampled_from(["none", "crc8", "crc16", "crc32"]),
    digits_per_packet=st.integers(1, 5),
    arrival=st.sampled_from(["periodic", "poisson"]),
    arrival_rate=st.sampled_from([100.0, 1000.0, 1e5]),
    arq=st.sampled_from(["none", "stop_and_wait", "selective_repeat"]),
    max_retransmissions=st.integers(0, 3),
    window=st.integers(1, 6),
    ack_delay=st.sampled_from([0.0, 1e-4]),
    timeout=st.sampled_from([None, 1e-4, 5e-3]),
    deadline=st.sampled_from([1e-4, 5e-3, 0.05, math.inf]),
    on_crc_failure=st.sampled_from(["drop", "deliver"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=configs, n=st.integers(0, 40), n_bits=st.integers(1, 12),
       ch=st.sampled_from(CHANNELS), seed=st.integers(0, 2**16))
def test_outcome_invariants(cfg, n, n_bits, ch, seed):
    bits = np.random.default_rng(seed).integers(0, 2, (n, n_bits), dtype=np.uint8)
    out = simulate_link(bits, ch, cfg, np.random.default_rng(seed + 1))
    again = simulate_link(bits, ch, cfg, np.random.default_rng(seed + 1))
    assert np.array_equal(out.bits, again.bits) and np.array_equal(out.latency, again.latency)

    assert out.bits.shape == out.erased.shape == (n, n_bits) and out.bits.dtype == np.uint8
    # a digit travels in one packet: its bits are all there or all missing
    assert np.array_equal(out.erased.all(axis=1), out.erased.any(axis=1))
    assert not out.bits[out.erased].any()
    assert not (out.delivered & out.erased.any(axis=1)).any()
    assert np.array_equal(out.bits[out.delivered & ~out.undetected_errors],
                          bits[out.delivered & ~out.undetected_errors])
    assert np.array_equal(out.undetected_errors, out.delivered & (out.bits != bits).any(axis=1))
    # delivered digits arrived within the deadline, no faster than an idle link allows
    t_min = (cfg.header_bits + n_bits + cfg.crc_width) / cfg.bit_rate + cfg.propagation_delay
    lat = out.latency[out.delivered]
    assert (lat <= cfg.deadline + 1e-12).all() and (lat >= t_min - 1e-12).all()
    assert (0 <= out.attempts).all() and (out.attempts <= cfg.attempts_per_packet).all()
    assert np.isinf(out.latency[out.attempts == 0]).all()
    if cfg.on_crc_failure == "drop":
        assert np.array_equal(out.delivered, ~out.erased.any(axis=1))
    if n:
        assert out.duration >= out.generated[-1]
        assert 0.0 <= out.delivery_ratio() <= 1.0
    row = out.to_row()
    assert row["n_digits"] == n
