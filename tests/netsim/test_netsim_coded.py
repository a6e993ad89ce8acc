"""Coded packets on the simpy link: airtime from codewords and the symbol rate, loss from the coded PHY.

Small sizes throughout (a 5G LDPC code with k=64, n=128, a few thousand bits per test).
"""

import dataclasses
import importlib.util
import math

import numpy as np
import pytest

import channels
from channels import Received
from semcom.netsim import LinkConfig, packet_phy, simulate_link

needs_sionna = pytest.mark.skipif(importlib.util.find_spec("sionna") is None,
                                  reason="the coded PHY needs Sionna")

N_BITS = 8
PROP = 1e-3
SYMBOL_RATE = 2e5


def payload(n, seed=0):
    return np.random.default_rng(seed).integers(0, 2, (n, N_BITS), dtype=np.uint8)


def coded(snr_db, **kw):
    """k=64 with a 16-bit PHY CRC: 48 payload bits per codeword."""
    return channels.CodedLink(snr_db=snr_db, snr="esn0", code="ldpc", k=64, n=128, **kw)


def test_a_coded_link_is_a_packet_phy_and_a_binary_channel_is_not():
    link = coded(3.0)
    assert packet_phy(link) is link
    for kind, params in [("clean", {}), ("bsc", {"p": 0.1}), ("packet_erasure", {"loss": 0.1})]:
        assert packet_phy(channels.make(kind, **params)) is None
    # packets of 48 payload bits per codeword, 64 QPSK symbols per codeword
    assert [link.codewords_per_packet(b) for b in (1, 48, 49, 96, 97)] == [1, 1, 2, 2, 3]
    assert link.channel_uses(97) == 3 * 64 and coded(3.0, modulation="bpsk").channel_uses(97) == 3 * 128


# (a) airtime ---------------------------------------------------------------------------------------

# header 16 + d x 8 + CRC-16 bits = 32 + 8d; 48 payload bits per codeword
@needs_sionna
@pytest.mark.parametrize("digits,codewords", [(2, 1), (3, 2), (8, 2), (9, 3)])
@pytest.mark.parametrize("modulation,symbols", [("qpsk", 64), ("bpsk", 128)])
def test_idle_link_arrival_is_codewords_times_symbols_over_symbol_rate(digits, codewords, modulation, symbols):
    cfg = LinkConfig(symbol_rate=SYMBOL_RATE, bit_rate=1.0, propagation_delay=PROP, header_bits=16,
                     crc="crc16", digits_per_packet=digits, arrival_rate=1000.0, deadline=1.0)
    link = coded(12.0, modulation=modulation)
    out = simulate_link(payload(digits), link, cfg, np.random.default_rng(1))
    assert out.delivered.all() and np.array_equal(out.bits, payload(digits))
    airtime = codewords * symbols / SYMBOL_RATE
    # the packet is ready when its last digit is generated, at (digits - 1) / arrival_rate
    assert out.latency[-1] == pytest.approx(airtime + PROP, rel=0, abs=1e-12)
    assert out.duration == pytest.approx((digits - 1) / 1000.0 + airtime + PROP, rel=0, abs=1e-12)
    assert cfg.serialization_time(N_BITS, channel=link) == pytest.approx(airtime, rel=0, abs=1e-15)
    assert cfg.serialization_time(N_BITS) == (32 + 8 * digits) / 1.0  # no channel: the bit rate


@needs_sionna
def test_default_timeout_is_the_coded_round_trip():
    """Every copy is lost at -10 dB: stop-and-wait retransmits each timeout, which must be the
    coded airtime + 2 x propagation (the bit rate, a million times faster, must not enter)."""
    cfg = LinkConfig(symbol_rate=SYMBOL_RATE, bit_rate=1e9, propagation_delay=PROP, header_bits=16,
                     crc="crc16", digits_per_packet=3, arq="stop_and_wait", max_retransmissions=6,
                     arrival_rate=1000.0, deadline=1.0)
    link = coded(-10.0)
    airtime = 2 * 64 / SYMBOL_RATE  # 56 bits: 2 codewords
    rtt = airtime + 2 * PROP
    assert cfg.effective_timeout(N_BITS, link) == pytest.approx(rtt, rel=0, abs=1e-15)
    # attempt k starts k round trips after the packet is ready and is sent only if it can arrive by
    # the deadline: k * rtt + airtime + PROP <= deadline; this one allows k = 0, 1, 2
    deadline = 2.5 * rtt + airtime + PROP
    out = simulate_link(payload(3), link, dataclasses.replace(cfg, deadline=deadline), np.random.default_rng(2))
    assert not out.delivered.any() and out.erased.all()
    assert (out.attempts == 3).all()


class _SlowCleanPhy:
    """Any object with the two methods is a packet PHY: 7 symbols per bit, no errors."""

    def channel_uses(self, packet_bits):
        return 7 * packet_bits

    def transmit_packets(self, bits, rng):
        return Received(np.array(bits, np.uint8), np.zeros(bits.shape, bool))

    def __call__(self, bits, rng):  # pragma: no cover - must not be used for packets
        raise AssertionError("a packet PHY gets transmit_packets, not __call__")


def test_any_packet_phy_plugs_in_by_its_methods():
    cfg = LinkConfig(symbol_rate=1e5, propagation_delay=PROP, header_bits=8, crc="crc8",
                     arrival_rate=100.0, deadline=1.0)
    out = simulate_link(payload(20), _SlowCleanPhy(), cfg, np.random.default_rng(0))
    assert out.delivered.all()
    np.testing.assert_allclose(out.latency, 7 * (8 + 8 + 8) / 1e5 + PROP, rtol=0, atol=1e-12)


# (b) loss at the ends of the SNR range -------------------------------------------------------------

@needs_sionna
@pytest.mark.parametrize("fading", ["awgn", "rayleigh"])
def test_high_snr_delivers_every_packet_intact(fading):
    cfg = LinkConfig(symbol_rate=1e6, header_bits=16, digits_per_packet=9, arq="selective_repeat",
                     arrival_rate=1000.0, deadline=math.inf)
    bits = payload(360)  # 40 packets of 3 codewords
    out = simulate_link(bits, coded(12.0 if fading == "awgn" else 45.0, fading=fading), cfg,
                        np.random.default_rng(3))
    assert out.delivered.all() and not out.erased.any() and (out.attempts == 1).all()
    assert np.array_equal(out.bits, bits) and not out.undetected_errors.any()


@needs_sionna
@pytest.mark.parametrize("modulation", ["qpsk", "qam16"])  # the error-pattern shortcut and the direct path
def test_very_low_snr_loses_every_copy(modulation):
    """-10 dB Es/N0: every codeword fails its PHY CRC, so every copy is LOST (erased, no feedback):
    even "deliver" has no CRC-failed copy to hand over, and ARQ uses every attempt."""
    cfg = LinkConfig(symbol_rate=1e6, header_bits=16, digits_per_packet=4, arq="selective_repeat",
                     max_retransmissions=2, arrival_rate=1000.0, deadline=math.inf, on_crc_failure="deliver")
    out = simulate_link(payload(120), coded(-10.0, modulation=modulation), cfg, np.random.default_rng(4))
    assert not out.delivered.any() and out.erased.all() and not out.unverified.any()
    assert (out.attempts == 3).all() and np.isinf(out.latency).all()


@needs_sionna
def test_residual_errors_past_the_phy_are_caught_by_the_packet_crc():
    """Without a PHY CRC no codeword is ever erased: the decoder's residual errors reach the packet
    CRC, which fails them (dropped, or handed over unverified with "deliver"), as over a binary channel."""
    cfg = LinkConfig(symbol_rate=1e6, header_bits=16, crc="crc16", digits_per_packet=4,
                     arrival_rate=1000.0, deadline=math.inf, on_crc_failure="deliver")
    bits = payload(400)
    link = coded(0.0, crc="none")
    out = simulate_link(bits, link, cfg, np.random.default_rng(5))
    assert not out.erased.any()
    assert 0.2 < out.unverified.mean() < 0.9 and out.delivered.any()
    wrong = (out.bits != bits).any(axis=1)
    assert wrong[out.unverified].mean() > 0.5 and not wrong[out.delivered].any()
    dropped = simulate_link(bits, link, dataclasses.replace(cfg, on_crc_failure="drop"), np.random.default_rng(5))
    np.testing.assert_array_equal(dropped.erased.any(axis=1), out.unverified)


# (c) packet loss rate = 1 - (1 - BLER)^codewords ---------------------------------------------------

@needs_sionna
@pytest.mark.parametrize("digits,codewords", [(2, 1), (8, 2), (12, 3)])
def test_packet_loss_follows_the_block_error_rate(digits, codewords):
    link = coded(1.5)
    # BLER measured on the PHY alone: one 48-bit row is one codeword
    rows = np.random.default_rng(10).integers(0, 2, (1200, link.payload_bits), dtype=np.uint8)
    bler = float(link(rows, np.random.default_rng(11)).erased.any(axis=1).mean())
    assert 0.15 < bler < 0.6  # mid SNR: the comparison below is informative

    n_packets = 600
    cfg = LinkConfig(symbol_rate=1e6, header_bits=16, crc="crc16", digits_per_packet=digits,
                     arrival_rate=1e4, deadline=math.inf, on_crc_failure="deliver")
    assert cfg.packet_bits(N_BITS) <= 48 * codewords < cfg.packet_bits(N_BITS) + 48
    out = simulate_link(payload(n_packets * digits, seed=12), link, cfg, np.random.default_rng(13))
    lost = out.erased.any(axis=1).reshape(n_packets, digits)
    assert (lost.all(axis=1) == lost.any(axis=1)).all()  # a packet is lost whole
    loss = float(lost[:, 0].mean())

    predicted = 1 - (1 - bler) ** codewords
    sd_loss = math.sqrt(predicted * (1 - predicted) / n_packets)
    sd_pred = codewords * (1 - bler) ** (codewords - 1) * math.sqrt(bler * (1 - bler) / len(rows))
    assert abs(loss - predicted) < 4 * math.hypot(sd_loss, sd_pred), (loss, predicted, bler)


# (d) binary channels: exactly as before ------------------------------------------------------------

def test_binary_channel_timing_ignores_the_symbol_rate():
    bits = payload(50)
    for symbol_rate in (1.0, 1e6, 3e9):
        cfg = LinkConfig(bit_rate=1e5, symbol_rate=symbol_rate, propagation_delay=2e-3, header_bits=32,
                         crc="crc16", arrival_rate=100.0, deadline=1.0)
        out = simulate_link(bits, channels.make("clean"), cfg, np.random.default_rng(1))
        np.testing.assert_allclose(out.latency, (32 + N_BITS + 16) / 1e5 + 2e-3, rtol=0, atol=1e-12)


def test_binary_channel_outcome_is_unchanged():
    """Selective repeat over a BSC: numbers recorded from simulate_link before coded packets existed."""
    bits = payload(200)
    cfg = LinkConfig(bit_rate=2e4, propagation_delay=1e-3, header_bits=16, crc="crc8", digits_per_packet=3,
                     arq="selective_repeat", max_retransmissions=2, window=4, arrival_rate=800.0, deadline=0.03)
    out = simulate_link(bits, channels.make("bsc", p=0.01), cfg, np.random.default_rng(5))
    assert out.latency[[0, 1, 2, 3, 50, 150, 199]].tolist() == [
        0.0059, 0.00465, 0.0034, 0.005899999999999999, 0.026949999999999988, 0.009950000000000375,
        0.007100000000000134]
    assert math.isinf(out.latency[100])
    assert out.attempts[:30].tolist() == [1] * 12 + [3] * 3 + [2] * 3 + [1] * 6 + [3] * 3 + [2] * 3
    assert int(out.attempts.sum()) == 308 and out.duration == 0.25825000000000015
    assert np.flatnonzero(~out.delivered).tolist() == [24, 25, 26, 36, 37, 57, 58, 59, 72, 73, 74, 99, 100,
                                                       101, 114, 115, 116]
