"""Entropy-coded bitstreams: exact round trips, rates near the entropy, and what a bit error costs."""

import numpy as np
import pytest
import torch

import channels
from semcom.codecs import LearnedCodec, LearnedCodecConfig
from semcom.codecs.networks import DigitClassifier
from semcom.entropy import EntropyModel, GroupedEntropyTransport
from semcom.evaluation import CodecBench, CodecUnderTest
from semcom.sweep import BitstreamPoint, ChannelPoint, SweepPoint

P = np.array([[0.55, 0.25, 0.15, 0.05], [0.1, 0.2, 0.3, 0.4], [0.25] * 4, [0.7, 0.1, 0.1, 0.1]])


def _symbols(n, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([rng.choice(4, size=n, p=p) for p in P], axis=1)


def _prior(idx):
    return np.stack([np.bincount(idx[:, j], minlength=4) / len(idx) for j in range(idx.shape[1])])


def _clean(packets):
    return packets.bits, np.zeros(packets.bits.shape, bool)


@pytest.mark.parametrize("kind", ["factorized", "joint"])
@pytest.mark.parametrize("group", [1, 7, 32, 10000])
def test_round_trip_is_exact_for_every_digit(kind, group):
    idx = _symbols(10000)
    model = EntropyModel.factorized(_prior(idx), len(idx)) if kind == "factorized" else EntropyModel.joint(idx, 4)
    tr = GroupedEntropyTransport(model, group=group, length_bits=16)
    packets, payload = tr.pack(idx)
    got = tr.receive(packets, *_clean(packets), len(idx))
    assert not got.erased.any() and got.lost_groups == 0
    np.testing.assert_array_equal(got.indices, idx)
    assert len(packets.lengths) == -(-10000 // group) and payload % 32 == 0


def test_rate_approaches_the_entropy_and_headers_are_counted():
    idx = _symbols(20000, seed=1)
    entropy = float(-(P * np.log2(P)).sum())  # bits per digit of the factorized source
    model = EntropyModel.factorized(_prior(idx), len(idx))
    big, payload = GroupedEntropyTransport(model, group=20000, length_bits=16).pack(idx)
    assert entropy <= payload / len(idx) < entropy * 1.005  # within 0.5% of the entropy in one group
    small, payload32 = GroupedEntropyTransport(model, group=32, length_bits=8, crc="crc16").pack(idx)
    per_packet = small.lengths - 32 * ((small.lengths - 8 - 16) // 32)
    assert (per_packet == 24).all()  # 8-bit length + 16-bit CRC on every packet
    assert small.lengths.sum() == payload32 + 24 * len(small.lengths)
    assert payload32 / len(idx) > payload / len(idx)  # per-packet flushing costs rate: measured, not assumed


def test_a_corrupted_packet_loses_its_whole_group_and_only_it():
    idx = _symbols(320)
    tr = GroupedEntropyTransport(EntropyModel.factorized(_prior(idx), 320), group=32)
    packets, _ = tr.pack(idx)
    bits, erased = _clean(packets)
    bits = bits.copy()
    bits[3, 20] ^= 1  # one bit error in packet 3
    got = tr.receive(packets, bits, erased, 320)
    assert got.lost_groups == 1
    assert got.erased[96:128].all() and not got.erased[:96].any() and not got.erased[128:].any()
    np.testing.assert_array_equal(got.indices[:96], idx[:96])
    # decoding regardless of the CRC: the group arrives, but garbled from the error on
    dec = GroupedEntropyTransport(tr.model, group=32, on_crc_failure="decode").receive(packets, bits, erased, 320)
    assert not dec.erased[96:128].any() and (dec.indices[96:128] != idx[96:128]).any()


def test_malformed_packets_never_crash_the_receiver():
    idx = _symbols(256)
    tr = GroupedEntropyTransport(EntropyModel.factorized(_prior(idx), 256), group=16, crc="none",
                                 on_crc_failure="decode")
    packets, _ = tr.pack(idx)
    rng = np.random.default_rng(0)
    for _ in range(200):
        bits = rng.integers(0, 2, packets.bits.shape).astype(np.uint8)
        erased = rng.random(packets.bits.shape) < 0.01
        got = tr.receive(packets, bits, erased, 256)
        assert got.indices.shape == (256, 4) and ((got.indices >= 0) & (got.indices < 4)).all()


def test_entropy_coded_sweep_point_matches_fixed_length_on_a_clean_channel_and_costs_fewer_bits():
    torch.manual_seed(0)
    images = torch.rand(512, 1, 28, 28) * (torch.rand(512, 1, 1, 1) > 0.5)
    labels = np.random.default_rng(0).integers(0, 10, 512)
    codec = LearnedCodec(LearnedCodecConfig(dim=4, levels=4, width=16)).eval()
    from semcom.models.zoo import symbol_prior

    cut = CodecUnderTest("c", codec, "mse", symbol_prior(codec, images), "k", n_train=512)
    bench = CodecBench(cut, DigitClassifier().eval(), images, labels)
    clean = ChannelPoint("clean", {}, "clean")
    fixed = bench.run(SweepPoint("c", clean, 0)).row
    coded = bench.run(SweepPoint("c", clean, 0, None, BitstreamPoint("entropy", group=64))).row
    assert coded["accuracy"] == fixed["accuracy"] and coded["mse"] == fixed["mse"]
    assert coded["payload_bits_per_digit"] < fixed["payload_bits_per_digit"] == 8
    assert coded["bits_per_digit"] > coded["payload_bits_per_digit"]  # headers and CRC are on the air too
    assert coded["coding"] == "entropy" and fixed["coding"] == "fixed" and coded["lost_group_ratio"] == 0
    bsc = ChannelPoint.of(channels.BinarySymmetric(p=0.01))
    noisy = bench.run(SweepPoint("c", bsc, 0, None, BitstreamPoint("entropy", group=64))).row
    assert noisy["lost_group_ratio"] > 0 and noisy["symbol_erasure_rate"] > 0


def test_fixed_length_packets_carry_the_same_bits_under_the_same_framing():
    from semcom.entropy import FixedLengthModel

    idx = _symbols(100)
    tr = GroupedEntropyTransport(FixedLengthModel(4, 4), group=32)
    packets, payload = tr.pack(idx)
    assert payload == 32 * (8 + 8 + 8 + 1)  # 32 digits x 8 bits = 8 words per full packet, 4 x 8 bits = 1 word
    np.testing.assert_array_equal(tr.receive(packets, *_clean(packets), 100).indices, idx)
    bits, erased = _clean(packets)
    bits = bits.copy()
    bits[1, 40] ^= 1
    keep = GroupedEntropyTransport(FixedLengthModel(4, 4), group=32, on_crc_failure="decode")
    got = keep.receive(packets, bits, erased, 100)
    assert (got.indices[32:64] != idx[32:64]).any(axis=1).sum() == 1  # one flip, one digit wrong: no desync
