"""Hand-computable latencies: serialization, propagation, queueing, deadlines, packing."""

import dataclasses

import numpy as np
import pytest

import channels
from semcom.netsim import LinkConfig, LinkOutcome, simulate_link

N_BITS = 8


def payload(n, n_bits=N_BITS, seed=0):
    return np.random.default_rng(seed).integers(0, 2, (n, n_bits), dtype=np.uint8)


def run(bits, cfg, channel=None, seed=1):
    return simulate_link(bits, channel or channels.make("clean"), cfg, np.random.default_rng(seed))


@pytest.mark.parametrize("crc,width", [("none", 0), ("crc8", 8), ("crc16", 16), ("crc32", 32)])
@pytest.mark.parametrize("header", [0, 32])
def test_idle_link_latency_is_serialization_plus_propagation(crc, width, header):
    bits = payload(50)
    cfg = LinkConfig(bit_rate=1e5, propagation_delay=2e-3, header_bits=header, crc=crc,
                     arrival_rate=100.0, deadline=1.0)
    out = run(bits, cfg)
    expected = (header + N_BITS + width) / 1e5 + 2e-3
    np.testing.assert_allclose(out.latency, expected, rtol=0, atol=1e-12)
    assert out.delivered.all() and not out.erased.any()
    assert np.array_equal(out.bits, bits)
    assert (out.attempts == 1).all() and not out.undetected_errors.any()
    np.testing.assert_allclose(out.generated, np.arange(50) / 100.0, atol=0)


def test_queue_builds_when_arrivals_outpace_the_link():
    cfg = LinkConfig(bit_rate=1e4, propagation_delay=1e-3, header_bits=32, crc="crc16",
                     arrival_rate=500.0, deadline=10.0)
    t_ser, gap = (32 + N_BITS + 16) / 1e4, 1 / 500.0  # 5.6 ms per packet, one every 2 ms
    out = run(payload(200), cfg)
    k = np.array([0, 1, 2, 10, 57, 199])
    np.testing.assert_allclose(out.latency[k], k * (t_ser - gap) + t_ser + 1e-3, atol=1e-12)
    assert out.delivered.all()
    assert np.all(np.diff(out.latency) > 0)


def test_deadline_shorter_than_one_packet_sends_and_delivers_nothing():
    cfg = LinkConfig(bit_rate=1e5, propagation_delay=1e-3, arrival_rate=50.0, deadline=1e-3)
    bits = payload(40)
    for arq in ["none", "stop_and_wait", "selective_repeat"]:
        out = run(bits, dataclasses.replace(cfg, arq=arq))
        assert not out.delivered.any()
        assert out.erased.all() and not out.bits.any()
        # a packet that cannot arrive by its deadline (0.56 ms + 1 ms > 1 ms) is never sent
        assert (out.attempts == 0).all() and np.isinf(out.latency).all()
        assert np.isnan(out.mean_latency()) and out.throughput_bps() == 0.0


def test_hopeless_packets_are_dropped_at_the_sender():
    # 1 ms per packet, a digit every 0.1 ms, deadline 5.05 ms, no propagation. Packet k,
    # its turn coming at time s, is sent iff it would arrive in time: s + 1 ms <= 0.1k + 5.05 ms:
    # k = 0..4 at 0..4 ms, then k = 10 at 5 ms, 20 at 6 ms, 30 at 7 ms; none is sent in vain.
    cfg = LinkConfig(bit_rate=1e6, propagation_delay=0.0, header_bits=1000 - N_BITS, crc="none",
                     arrival_rate=1e4, deadline=5.05e-3)
    out = run(payload(35), cfg)
    sent = np.flatnonzero(out.attempts == 1)
    assert sent.tolist() == [0, 1, 2, 3, 4, 10, 20, 30]
    assert set(np.unique(out.attempts)) == {0, 1}
    assert np.flatnonzero(out.delivered).tolist() == sent.tolist()  # every packet sent arrives in time
    np.testing.assert_allclose(out.latency[[10, 20, 30]], [5e-3, 5e-3, 5e-3], atol=1e-12)
    assert np.isinf(out.latency[out.attempts == 0]).all()


def test_overload_delivers_what_the_link_can_carry():
    """2,000 digits/s offered to a link of 1,786 packets/s with a 50 ms deadline: dropping
    hopeless packets keeps the queue short, so ~89% of digits arrive (sending every packet
    however late delivered 8%: the queue grew without bound and almost every packet missed)."""
    cfg = LinkConfig(bit_rate=100_000, header_bits=32, crc="crc16", arrival_rate=2000.0, deadline=0.05)
    out = run(payload(10000), cfg)
    assert 0.86 < out.delivery_ratio() <= 1786 / 2000 + 0.01


def test_digits_share_packets_and_the_last_packet_is_short():
    bits = payload(10, seed=3)
    cfg = LinkConfig(bit_rate=1e5, propagation_delay=1e-3, header_bits=16, crc="crc8",
                     digits_per_packet=4, arrival_rate=100.0, deadline=1.0)
    out = run(bits, cfg)
    gen = np.arange(10) / 100.0
    last = np.array([3, 3, 3, 3, 7, 7, 7, 7, 9, 9])  # last digit of each digit's packet
    n_in = np.array([4] * 8 + [2] * 2)
    expected = gen[last] - gen + (16 + n_in * N_BITS + 8) / 1e5 + 1e-3
    np.testing.assert_allclose(out.latency, expected, atol=1e-12)
    assert np.array_equal(out.bits, bits) and out.delivered.all()


def test_summary_helpers():
    cfg = LinkConfig(bit_rate=1e5, propagation_delay=1e-3, arrival_rate=100.0, deadline=1.0)
    out = run(payload(100), cfg)
    assert isinstance(out, LinkOutcome)
    lat = (32 + 8 + 16) / 1e5 + 1e-3
    assert out.delivery_ratio() == 1.0
    assert out.mean_latency() == pytest.approx(lat, abs=1e-12)
    np.testing.assert_allclose(out.latency_quantiles([0.5, 0.99]), lat, atol=1e-12)
    assert out.duration == pytest.approx(0.99 + lat)
    assert out.throughput_bps() == pytest.approx(100 * N_BITS / (0.99 + lat))
    row = out.to_row()
    assert row["delivery_ratio"] == 1.0 and row["mean_attempts"] == 1.0
    assert all(isinstance(v, (int, float)) for v in row.values())
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.duration = 0.0


def test_empty_input():
    out = run(np.zeros((0, N_BITS), np.uint8), LinkConfig(arq="selective_repeat"))
    assert out.bits.shape == (0, N_BITS) and out.duration == 0.0
    assert np.isnan(out.delivery_ratio())


def test_bad_payload_is_rejected():
    cfg = LinkConfig()
    with pytest.raises(ValueError, match="only 0 and 1"):
        run(np.full((3, 8), 2, np.uint8), cfg)
    with pytest.raises(ValueError, match=r"\(N, n_bits\)"):
        run(np.zeros(8, np.uint8), cfg)
    with pytest.raises(ValueError, match=r"payload_bits: bits must contain only 0 and 1, got value -1"):
        run(np.full((2, 8), -1, np.int8), cfg)
    with pytest.raises(TypeError, match=r"payload_bits: bits must have an integer or bool dtype, got float64"):
        run(np.full((2, 8), 0.5), cfg)
    with pytest.raises(TypeError, match=r"payload_bits: bits must be a numpy array"):
        run([[0, 1]], cfg)
    with pytest.raises(TypeError, match="Generator"):
        simulate_link(payload(2), channels.make("clean"), cfg, 0)


def test_ten_thousand_digits_without_arq():
    bits = payload(10_000)
    cfg = LinkConfig(arrival_rate=1000.0, deadline=0.05)
    out = run(bits, cfg, channels.make("bsc", p=0.01))
    assert out.bits.shape == (10_000, N_BITS)
