"""Packet erasure: whole-row and fixed-size packets."""

import math

import numpy as np
import pytest

import channels


def assert_binomial(count, n, p, z=5.0):
    sd = math.sqrt(n * p * (1.0 - p))
    assert abs(count - n * p) <= z * sd + 1e-9, (count, n, p)


def random_bits(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 2, size=shape, dtype=np.uint8)


@pytest.mark.parametrize("loss", [0.0, 0.1, 0.5, 1.0])
def test_whole_rows_are_erased(loss):
    bits = random_bits((200_000, 5))
    out = channels.PacketErasure(loss=loss)(bits, np.random.default_rng(1))
    row_lost = out.erased.all(axis=1)
    assert np.array_equal(out.erased, np.repeat(row_lost[:, None], 5, axis=1))
    assert_binomial(np.count_nonzero(row_lost), bits.shape[0], loss)
    assert not out.bits[out.erased].any()
    assert np.array_equal(out.bits[~out.erased], bits[~out.erased])


def test_fixed_size_packets_with_short_last_packet():
    loss, k, n = 0.3, 3, 8  # packets: [0:3], [3:6], [6:8]
    bits = random_bits((100_000, n))
    out = channels.PacketErasure(loss=loss, packet_bits=k)(bits, np.random.default_rng(2))
    e = out.erased
    packets = [e[:, 0:3], e[:, 3:6], e[:, 6:8]]
    for pk in packets:
        assert np.array_equal(pk.all(axis=1), pk.any(axis=1)), "constant within a packet"
        assert_binomial(np.count_nonzero(pk[:, 0]), e.shape[0], loss)
    lost = np.stack([pk[:, 0] for pk in packets], axis=1)
    # packets are lost independently, not as a whole row
    for i, j in ((0, 1), (1, 2)):
        assert_binomial(np.count_nonzero(lost[:, i] & lost[:, j]), e.shape[0], loss**2)
    assert not out.bits[e].any()
    assert np.array_equal(out.bits[~e], bits[~e])


def test_packet_bigger_than_row_and_nd_input():
    ch = channels.PacketErasure(loss=0.5, packet_bits=100)
    out = ch(random_bits((1000, 8)), np.random.default_rng(3))
    assert np.array_equal(out.erased.all(axis=1), out.erased.any(axis=1))
    out3 = channels.PacketErasure(loss=0.5, packet_bits=2)(
        random_bits((40, 30, 5)), np.random.default_rng(3)
    )
    e = out3.erased
    assert e.shape == (40, 30, 5)
    assert np.array_equal(e[..., 0], e[..., 1]) and np.array_equal(e[..., 2], e[..., 3])
    assert not np.array_equal(e[..., 0], e[..., 2])


def test_one_dimensional_input_is_one_row():
    bits = random_bits((64,))
    seen = set()
    rng = np.random.default_rng(4)
    for _ in range(20):
        e = channels.PacketErasure(loss=0.5)(bits, rng).erased
        assert e.all() or not e.any()
        seen.add(bool(e.all()))
    assert seen == {True, False}


def test_rates():
    ch = channels.PacketErasure(loss=0.2, packet_bits=4)
    assert ch.erasure_rate() == 0.2
    assert ch.bit_error_rate() == 0.0
    assert ch.capacity() == pytest.approx(0.8)
    assert ch.packets_per_row(9) == 3
    assert channels.PacketErasure(loss=0.2).packets_per_row(9) == 1
