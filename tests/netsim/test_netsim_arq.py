"""ARQ behaviour: hand-computed retransmission timelines and delivery statistics."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

import channels
from semcom.netsim import LinkConfig, simulate_link

N_BITS = 8
ARQS = ["stop_and_wait", "selective_repeat"]


def payload(n, seed=0):
    return np.random.default_rng(seed).integers(0, 2, (n, N_BITS), dtype=np.uint8)


def run(bits, cfg, channel=None, seed=1):
    return simulate_link(bits, channel or channels.make("clean"), cfg, np.random.default_rng(seed))


def assert_binomial(count, n, p, z=5.0):
    sd = math.sqrt(n * p * (1.0 - p))
    assert abs(count - n * p) <= z * sd + 1e-9, (count, n * p, sd)


@dataclass(frozen=True)
class Scripted(channels.Channel):
    """Test double: loses or corrupts chosen (attempt, packet) copies, passes the rest.

    Relies on simulate_link's documented layout: row ``a * n_packets + p`` of the
    channel input is attempt ``a`` of packet ``p``.
    """

    attempts: int
    lose: frozenset = frozenset()  # {(attempt, packet)}: every bit erased
    flip: frozenset = frozenset()  # {(attempt, packet, column)}: one bit flipped

    kind: ClassVar[str] = "scripted"
    label: ClassVar[str] = "Scripted"

    def _transmit(self, out, rng):
        n = out.shape[0] // self.attempts
        erased = np.zeros(out.shape, dtype=bool)
        for a, p in self.lose:
            erased[a * n + p] = True
        for a, p, col in self.flip:
            out[a * n + p, col] ^= 1
        out[erased] = 0
        return channels.Received(bits=out, erased=erased)


class Recording(channels.Channel):
    """Clean channel that remembers the shape of every call."""

    kind: ClassVar[str] = "recording"
    label: ClassVar[str] = "Recording"

    def __init__(self):
        self.calls = []

    def _transmit(self, out, rng):
        self.calls.append(out.shape)
        return channels.Received(bits=out, erased=np.zeros(out.shape, dtype=bool))


# 56-bit packets at 100 kbit/s: T = 0.56 ms; RTT = T + 2 * 1 ms + 0.2 ms = 2.76 ms.
T, PROP, ACK = 56 / 1e5, 1e-3, 2e-4
RTT = T + 2 * PROP + ACK
SLOW = LinkConfig(bit_rate=1e5, propagation_delay=PROP, ack_delay=ACK, header_bits=32,
                  crc="crc16", arrival_rate=10.0, deadline=1.0, arq="stop_and_wait",
                  max_retransmissions=3)
ALL_FIRST = frozenset((0, p) for p in range(3))


@pytest.mark.parametrize("arq", ["none", *ARQS])
def test_lossless_channel_needs_one_attempt(arq):
    bits = payload(300)
    cfg = LinkConfig(arq=arq, arrival_rate=200.0, deadline=math.inf)
    out = run(bits, cfg)
    assert (out.attempts == 1).all() and out.delivered.all()
    assert np.array_equal(out.bits, bits)


def test_lost_first_attempt_is_resent_after_the_default_timeout():
    out = run(payload(3), SLOW, Scripted(4, lose=ALL_FIRST))
    np.testing.assert_allclose(out.latency, RTT + T + PROP, atol=1e-12)
    assert (out.attempts == 2).all() and out.delivered.all()


def test_lost_first_attempt_with_a_longer_timeout():
    cfg = dataclasses.replace(SLOW, timeout=5e-3)
    out = run(payload(3), cfg, Scripted(4, lose=ALL_FIRST))
    np.testing.assert_allclose(out.latency, 5e-3 + T + PROP, atol=1e-12)


@pytest.mark.parametrize("column", [0, 31, 32, 39, 40, 55])  # header, payload, CRC bits
def test_crc_failure_is_nakked_before_the_timer_fires(column):
    cfg = dataclasses.replace(SLOW, timeout=5e-3)
    bits = payload(3)
    flips = frozenset((0, p, column) for p in range(3))  # one bit of each first attempt
    out = run(bits, cfg, Scripted(4, flip=flips))
    np.testing.assert_allclose(out.latency, RTT + T + PROP, atol=1e-12)
    assert (out.attempts == 2).all() and out.delivered.all()
    assert np.array_equal(out.bits, bits) and not out.undetected_errors.any()


def test_sender_gives_up_after_max_retransmissions():
    cfg = dataclasses.replace(SLOW, max_retransmissions=1)
    lose = frozenset({(0, 1), (1, 1)})  # packet 1 lost twice
    out = run(payload(3), cfg, Scripted(2, lose=lose))
    assert out.attempts.tolist() == [1, 2, 1]
    assert out.delivered.tolist() == [True, False, True]
    assert out.erased[1].all() and not out.erased[[0, 2]].any()
    assert math.isinf(out.latency[1])


def test_no_retransmission_after_the_deadline():
    cfg = dataclasses.replace(SLOW, deadline=2e-3)  # timer (2.76 ms) fires after the deadline
    out = run(payload(3), cfg, Scripted(4, lose=ALL_FIRST))
    assert (out.attempts == 1).all() and not out.delivered.any() and out.erased.all()


def test_deliver_mode_hands_over_the_last_corrupted_copy():
    cfg = dataclasses.replace(SLOW, max_retransmissions=1, on_crc_failure="deliver")
    bits = payload(3)
    flips = frozenset({(0, 0, 32), (1, 0, 33)})  # both copies of packet 0 corrupted differently
    out = run(bits, cfg, Scripted(2, flip=flips))
    want = bits[0].copy()
    want[1] ^= 1  # attempt 1 flipped payload bit 1
    assert np.array_equal(out.bits[0], want)
    assert not out.delivered[0] and not out.erased[0].any() and out.unverified[0]
    assert not out.undetected_errors.any()
    assert out.latency[0] == pytest.approx(RTT + T + PROP, abs=1e-12)
    assert out.delivered[1:].all()


def test_late_ack_cancels_a_spurious_retransmission_chain():
    # timer (T + PROP) shorter than the round trip: one spurious resend, then the ACK arrives
    cfg = dataclasses.replace(SLOW, timeout=T + PROP)
    out = run(payload(3), cfg)
    assert (out.attempts == 2).all() and out.delivered.all()
    np.testing.assert_allclose(out.latency, T + PROP, atol=1e-12)


BURST = dataclasses.replace(SLOW, ack_delay=0.0, arrival_rate=1e9)  # three digits at ~0 s


def test_selective_repeat_keeps_sending_while_packet_zero_is_resent():
    rtt = T + 2 * PROP
    cfg = dataclasses.replace(BURST, arq="selective_repeat")
    out = run(payload(3), cfg, Scripted(4, lose=frozenset({(0, 0)})))
    arrival = np.array([rtt + T + PROP, 2 * T + PROP, 3 * T + PROP])
    np.testing.assert_allclose(out.latency, arrival - out.generated, atol=1e-12)


def test_stop_and_wait_blocks_behind_a_retransmission():
    rtt = T + 2 * PROP
    out = run(payload(3), BURST, Scripted(4, lose=frozenset({(0, 0)})))
    arrival = np.array([rtt, 2 * rtt, 3 * rtt]) + T + PROP
    np.testing.assert_allclose(out.latency, arrival - out.generated, atol=1e-12)


def test_selective_repeat_window_limits_packets_in_flight():
    rtt = T + 2 * PROP
    cfg = dataclasses.replace(BURST, arq="selective_repeat", window=2)
    out = run(payload(6), cfg)
    k = np.arange(6)
    start = (k // 2) * rtt + (k % 2) * T
    np.testing.assert_allclose(out.latency, start + T + PROP - out.generated, atol=1e-12)
    wide = run(payload(6), dataclasses.replace(cfg, window=6))
    np.testing.assert_allclose(wide.latency, k * T + T + PROP - wide.generated, atol=1e-12)


@pytest.mark.parametrize("arq", ["none", *ARQS])
def test_delivery_and_attempts_under_packet_erasure(arq):
    eps, k, n = 0.3, 2, 5000
    cfg = LinkConfig(arq=arq, max_retransmissions=k, arrival_rate=1000.0, deadline=math.inf)
    out = run(payload(n), cfg, channels.make("packet_erasure", loss=eps), seed=11)
    tries = 1 if arq == "none" else k + 1
    assert_binomial(out.delivered.sum(), n, 1 - eps**tries)
    mean = sum(eps**i for i in range(tries))
    second = sum((2 * i + 1) * eps**i for i in range(tries))  # E[X^2] = sum (2i+1) P(X > i)
    sd = math.sqrt((second - mean**2) / n)
    assert abs(out.attempts.mean() - mean) <= 5 * sd + 1e-12
    assert out.attempts.max() == tries
    # a packet is lost only if every attempt is
    assert np.array_equal(out.delivered, ~out.erased.all(axis=1))


def test_bsc_without_crc_gives_undetected_errors():
    p, n = 0.01, 5000
    cfg = LinkConfig(crc="none", arrival_rate=1000.0, deadline=1.0)
    bits = payload(n)
    out = run(bits, cfg, channels.make("bsc", p=p), seed=2)
    assert out.delivered.all() and not out.erased.any()
    assert_binomial(out.undetected_errors.sum(), n, 1 - (1 - p) ** N_BITS)
    assert np.array_equal(out.undetected_errors, (out.bits != bits).any(axis=1))


def test_bsc_with_crc16_turns_errors_into_erasures():
    p, n = 0.01, 5000
    bits = payload(n)
    drop = run(bits, LinkConfig(crc="crc16", deadline=1.0), channels.make("bsc", p=p), seed=2)
    assert drop.undetected_errors.sum() <= 1
    assert_binomial(drop.erased.all(axis=1).sum(), n, 1 - (1 - p) ** 56)  # 32 + 8 + 16 bits
    assert np.array_equal(drop.delivered, ~drop.erased.any(axis=1))
    assert np.array_equal(drop.bits[drop.delivered], bits[drop.delivered])

    cfg = LinkConfig(crc="crc16", deadline=1.0, on_crc_failure="deliver")
    deliver = run(bits, cfg, channels.make("bsc", p=p), seed=2)
    assert not deliver.erased.any()
    assert np.array_equal(deliver.delivered, drop.delivered)  # same channel draws
    assert np.array_equal(deliver.unverified, ~drop.delivered)
    assert deliver.undetected_errors.sum() == drop.undetected_errors.sum()


def test_partially_erased_packet_is_unusable():
    eps, n = 0.01, 5000
    bits = payload(n)
    out = run(bits, LinkConfig(deadline=1.0), channels.make("bec", epsilon=eps), seed=3)
    assert_binomial(out.delivered.sum(), n, (1 - eps) ** 56)
    assert np.array_equal(out.erased.all(axis=1), ~out.delivered)
    assert np.array_equal(out.bits[out.delivered], bits[out.delivered])
    assert not out.bits[out.erased].any()


def test_selective_repeat_over_bsc_with_crc():
    p, n, k = 0.01, 3000, 3
    cfg = LinkConfig(arq="selective_repeat", max_retransmissions=k, deadline=math.inf)
    out = run(payload(n), cfg, channels.make("bsc", p=p), seed=4)
    q = 1 - (1 - p) ** 56
    assert_binomial(out.delivered.sum(), n, 1 - q ** (k + 1))
    assert out.undetected_errors.sum() <= 1


def test_channel_is_called_once_for_all_attempts():
    rec = Recording()
    run(payload(10), LinkConfig(arq="selective_repeat", max_retransmissions=2), rec)
    assert rec.calls == [(30, 56)]
    rec = Recording()
    cfg = LinkConfig(arq="stop_and_wait", max_retransmissions=1, digits_per_packet=4)
    run(payload(10), cfg, rec)
    assert rec.calls == [(4, 32 + 32 + 16), (2, 32 + 16 + 16)]  # 2 full packets, 1 short


@pytest.mark.parametrize("arrival", ["periodic", "poisson"])
def test_same_seed_same_outcome(arrival):
    cfg = LinkConfig(arq="selective_repeat", arrival=arrival, deadline=0.01)
    ch = channels.make("gilbert_elliott", p_good_to_bad=0.01, p_bad_to_good=0.2)
    bits = payload(1000)
    a, b, c = (run(bits, cfg, ch, seed=s) for s in (7, 7, 8))
    for f in dataclasses.fields(a):
        assert np.array_equal(getattr(a, f.name), getattr(b, f.name)), f.name
    assert not np.array_equal(a.delivered, c.delivered) or not np.array_equal(a.bits, c.bits)


def test_poisson_gaps_have_mean_one_over_rate():
    n, rate = 5000, 1000.0
    out = run(payload(n), LinkConfig(arrival="poisson", arrival_rate=rate), seed=9)
    gaps = np.diff(np.concatenate([[0.0], out.generated]))
    assert (gaps > 0).all()
    assert abs(gaps.mean() - 1 / rate) <= 5 * (1 / rate) / math.sqrt(n)
    assert abs(gaps.std() - 1 / rate) <= 0.1 / rate  # exponential: sd == mean


def test_ten_thousand_digits_selective_repeat_and_bad_input():
    cfg = LinkConfig(arq="selective_repeat", deadline=0.05)
    out = run(payload(10_000), cfg, channels.make("bsc", p=0.01))
    assert 0.9 < out.delivery_ratio() < 1.0
