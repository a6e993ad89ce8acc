"""A sweep point gives the same row whichever way the receiver reconstructs."""

import numpy as np
import pytest
import torch

from semcom import evaluation
from semcom.codecs.networks import DigitClassifier
from semcom.codecs import LearnedCodec, LearnedCodecConfig
from semcom.evaluation import CodecBench, CodecUnderTest, sweep_points
from semcom.app.scenario import ChannelPoint
from semcom.models.zoo import symbol_prior

EXACT = ("accuracy", "macro_f1", "bit_error_rate", "bit_erasure_rate", "symbol_erasure_rate",
         "entropy_joint_bits", "entropy_marginal_bits", "payload_bits", "n_images")


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    images = torch.rand(400, 1, 28, 28)
    labels = np.random.default_rng(0).integers(0, 10, 400)
    codec = LearnedCodec(LearnedCodecConfig(dim=3, levels=4, width=16)).eval()
    cut = CodecUnderTest("tiny", codec, "mse", symbol_prior(codec, images), "test-key")
    points = sweep_points(["tiny"], [ChannelPoint("clean", {}, "Clean()"),
                                     ChannelPoint("bsc", {"p": 0.1}, "BSC(p=0.1)"),
                                     ChannelPoint("bec", {"epsilon": 0.3}, "BEC(epsilon=0.3)")], [0, 1])
    return cut, DigitClassifier().eval(), images, labels, points


def _rows(bench, points):
    return [bench.run(p, n_examples=5) for p in points]


@pytest.mark.parametrize("path", ["codebook_only", "distortion_table"])
def test_tabulated_rows_equal_direct_decoding(setup, path):
    cut, clf, images, labels, points = setup
    # codebook_only: a table of images but no (image x codeword) distortion table
    limit = 0 if path == "codebook_only" else evaluation.DISTORTION_TABLE_LIMIT
    tab = CodecBench(cut, clf, images, labels, tabulate=True, distortion_limit=limit)
    assert (tab.distortion is not None) == (path == "distortion_table")
    direct = CodecBench(cut, clf, images, labels, tabulate=False)
    for t, d in zip(_rows(tab, points), _rows(direct, points)):
        assert {k: t.row[k] for k in EXACT} == {k: d.row[k] for k in EXACT}
        assert t.row["mse"] == pytest.approx(d.row["mse"], rel=1e-9)
        assert t.class_rows == d.class_rows
        np.testing.assert_allclose(t.examples, d.examples, atol=1e-6)
        assert t.examples.shape == (5, 784)
    # the noisy points really moved some digits to other codewords
    assert _rows(tab, points[2:3])[0].row["mse"] != _rows(tab, points[:1])[0].row["mse"]


def test_distortion_table_gives_each_images_mse_to_what_it_received(setup):
    cut, clf, images, labels, _ = setup
    bench = CodecBench(cut, clf, images, labels, tabulate=True)
    codebook, _ = bench.reconstruct.codebook()
    received = np.random.default_rng(5).integers(0, 4, size=(400, 3))
    _, image_mse, _ = bench._outcome(received, 0)
    flat = bench.reconstruct.codeword_numbers(received)
    expected = ((bench.originals - codebook[flat].astype(np.float64)) ** 2).mean(axis=1)
    np.testing.assert_allclose(image_mse, expected, rtol=1e-10)


def test_large_codebooks_are_decoded_lazily_in_fixed_blocks():
    from semcom.transceiver import Reconstructor

    torch.manual_seed(0)
    codec = LearnedCodec(LearnedCodecConfig(dim=6, levels=4, width=16)).eval()  # 4,096 codewords
    rec = Reconstructor(codec, DigitClassifier().eval(), batch_size=256)
    idx = np.random.default_rng(0).integers(0, 4, (50, 6))
    idx[:, 0] = 0  # codewords 0..1023 only
    images, preds = rec(idx)
    assert rec.decoded_codewords <= 1024 and rec.decoded_codewords % 256 == 0  # only the blocks asked for
    other = Reconstructor(codec, DigitClassifier().eval(), batch_size=256)
    other(np.flip(idx, axis=0).copy())  # another order, the same blocks: identical values
    images2, _ = other(idx)
    np.testing.assert_array_equal(images, images2)
    direct = codec.decode(torch.from_numpy(idx)).reshape(50, -1).numpy()
    np.testing.assert_allclose(images, direct, atol=1e-6)


def test_fitted_codecs_go_through_the_bench_like_learned_ones():
    """Regression: a k-means codec has no dither and must not need the learned codec's attributes."""
    from semcom.codecs.classical import KMeansVQCodec

    g = torch.Generator().manual_seed(0)
    images = torch.rand(64, 1, 28, 28, generator=g)
    codec = KMeansVQCodec(4)
    codec.fit(images, seed=0, iterations=3)
    assert codec.uses_dither is False
    labels = np.arange(64) % 10
    prior = np.full((1, 16), 1 / 16)
    bench = CodecBench(CodecUnderTest("km", codec, "kmeans", prior, "k"), DigitClassifier().eval(), images, labels)
    (point,) = sweep_points(["km"], [ChannelPoint("clean", {}, "clean")], [0])
    row = bench.run(point).row
    direct = codec.decode(codec.encode(images))
    assert row["mse"] == pytest.approx(float(((direct - images) ** 2).mean()), rel=1e-5)


def test_a_coded_channel_under_the_packet_link_records_packet_channel_uses(setup):
    """[link] + kind = "coded": packets cross the coded PHY; the row gives a packet's channel uses and
    airtime, channel uses per digit from the packet (not from digits per codeword), no codeword BLER."""
    pytest.importorskip("sionna")
    from semcom.sweep import LinkPoint, SweepPoint

    cut, clf, images, labels, _ = setup
    bench = CodecBench(cut, clf, images, labels)
    coded = {"snr_db": 8.0, "snr": "esn0", "k": 64, "n": 128}  # 48 payload bits, 64 QPSK symbols
    link = LinkPoint({"digits_per_packet": 8, "header_bits": 16, "symbol_rate": 1e5, "deadline": 1.0}, "lk")
    row = bench.run(SweepPoint("tiny", ChannelPoint("coded", coded, "coded"), 0, link)).row
    # 16 + 8 x 6 + 16 = 80 bits: 2 codewords of 64 symbols
    assert row["link_channel_uses_per_packet"] == 128 and row["link_airtime_s"] == pytest.approx(128 / 1e5)
    assert row["channel_uses_per_digit"] == 16.0 and "block_error_rate" not in row
    assert row["link_delivery_ratio"] == 1.0 and row["link_mean_latency_s"] > 128 / 1e5 + 1e-3
    lossy = bench.run(SweepPoint("tiny", ChannelPoint("coded", {**coded, "snr_db": -10.0}, "coded"), 0, link)).row
    assert lossy["link_delivery_ratio"] == 0.0 and lossy["bit_erasure_rate"] == 1.0
