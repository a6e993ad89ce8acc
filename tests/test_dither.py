"""Universal (shared-dither) quantization: the uRDP quantizer, kept in step across the link."""

import numpy as np
import pytest
import torch

import channels
from semcom.codecs.networks import DigitClassifier
from semcom.codecs import LearnedCodec, LearnedCodecConfig
from semcom.codecs.quantizer import SharedDither
from semcom.evaluation import CodecBench, CodecUnderTest, sweep_points
from semcom.netsim import LinkConfig, simulate_link
from semcom.app.scenario import ChannelPoint
from semcom.models.zoo import symbol_prior


def test_shared_dither_is_uniform_on_the_step_and_a_function_of_key_and_sequence_number():
    d = SharedDither(dim=4, step=2 / 3, key=7)
    u = d(np.arange(50_000)).numpy()
    assert u.shape == (50_000, 4) and u.dtype == np.float32
    assert u.min() >= -1 / 3 and u.max() < 1 / 3
    assert abs(u.mean()) < 0.003 and u.var() == pytest.approx((2 / 3) ** 2 / 12, rel=0.02)
    # coordinates and neighbouring digits are uncorrelated
    assert abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < 0.02
    assert abs(np.corrcoef(u[:-1, 0], u[1:, 0])[0, 1]) < 0.02
    # the same digit gets the same dither whatever else is asked for, in any order
    perm = np.random.default_rng(0).permutation(50_000)[:1000]
    np.testing.assert_array_equal(d(perm).numpy(), u[perm])
    np.testing.assert_array_equal(SharedDither(4, 2 / 3, key=7)(np.array([3])).numpy(), u[3:4])
    # another session key is another dither
    assert not np.allclose(SharedDither(4, 2 / 3, key=8)(np.arange(10)).numpy(), u[:10])


@pytest.mark.parametrize("bad", [np.array([-1]), np.array([[1, 2]]), np.array([0.5])])
def test_shared_dither_rejects_bad_sequence_numbers(bad):
    with pytest.raises(ValueError, match="sequence numbers"):
        SharedDither(4, 0.5)(bad)


@pytest.fixture(scope="module")
def codec():
    torch.manual_seed(0)
    return LearnedCodec(LearnedCodecConfig(dim=3, levels=4, width=16, dither=True)).eval()


def test_decoder_sees_the_latent_plus_noise_within_half_a_step(codec):
    """Subtractive dither: c(w + u) - u lies within a/2 of w wherever w + u is in the quantizer's range."""
    x = torch.rand(500, 1, 28, 28)
    seq = torch.arange(500)
    with torch.no_grad():
        w = codec.encoder(x)
    u = codec.dither(seq, 500, w.device)
    received = codec.quantizer.values(codec.encode(x, seq)) - u
    inside = ((w + u).abs() <= 1).all(1)
    assert inside.float().mean() > 0.5
    err = (received - w)[inside]
    assert float(err.abs().max()) <= codec.quantizer.step / 2 + 1e-6


def test_receiver_decodes_any_subset_of_digits_in_any_order_by_sequence_number(codec):
    x = torch.rand(64, 1, 28, 28)
    seq = torch.arange(1000, 1064)
    idx = codec.encode(x, seq)
    full = codec.decode(idx, seq)
    order = torch.tensor([63, 5, 17, 0, 40])  # lost digits, reordered arrivals
    np.testing.assert_allclose(codec.decode(idx[order], seq[order]).numpy(), full[order].numpy(), atol=1e-6)
    # without the sender's numbers, the receiver is out of step and decodes something else
    assert not torch.allclose(codec.decode(idx[order], torch.arange(5)), full[order], atol=1e-3)
    # the dither really changes what is sent: another session key encodes differently
    other = LearnedCodec(codec.config, dither_key=1).eval()
    other.load_state_dict(codec.state_dict())
    assert (other.encode(x, seq) != idx).any()


def test_dither_is_left_out_of_the_architecture_key_when_off():
    assert "dither" not in LearnedCodecConfig(4, 4).to_dict()
    assert LearnedCodecConfig(4, 4, dither=True).to_dict()["dither"] is True


def test_training_path_adds_fresh_noise_and_the_decoder_gets_gradients():
    torch.manual_seed(0)
    codec = LearnedCodec(LearnedCodecConfig(dim=3, levels=4, width=16, dither=True)).train()
    x = torch.rand(32, 1, 28, 28)
    a, b = codec(x), codec(x)
    assert not torch.allclose(a, b)  # a new dither every call in training
    a.mean().backward()
    assert codec.encoder.net[1].weight.grad.abs().sum() > 0


def _rows(bench, points):
    return [bench.run(p, n_examples=6) for p in points]


def test_dithered_sweep_decodes_only_changed_digits_and_equals_decoding_all(codec):
    images = torch.rand(300, 1, 28, 28)
    labels = np.random.default_rng(0).integers(0, 10, 300)
    cut = CodecUnderTest("dither", codec, "mse", symbol_prior(codec, images), "k")
    clf = DigitClassifier().eval()
    bench = CodecBench(cut, clf, images, labels)
    assert not bench.reconstruct.tabulated and bench.clean is not None
    points = sweep_points(["dither"], [ChannelPoint("clean", {}, "clean"), ChannelPoint("bsc", {"p": 0.1}, "b"),
                                       ChannelPoint("bec", {"epsilon": 0.3}, "e")], [0, 1])
    for point, result in zip(points, _rows(bench, points)):
        # the reference: every received digit decoded with its own sequence number
        rng = np.random.default_rng(evaluation_seed(point))
        got = bench.packer.pack(bench.sent)
        out = point.channel.make()(got, rng)
        received = bench.receiver.receive(out.bits, out.erased).indices
        x_hat = codec.decode(torch.from_numpy(received), torch.arange(300)).reshape(300, -1).numpy()
        mse = ((x_hat.astype(np.float64) - bench.originals) ** 2).mean()
        acc = (clf(torch.from_numpy(x_hat).view(-1, 1, 28, 28)).argmax(1).numpy() == labels).mean()
        assert result.row["mse"] == pytest.approx(mse, rel=1e-6)
        assert result.row["accuracy"] == pytest.approx(acc)
        np.testing.assert_allclose(result.examples, x_hat[:6], atol=1e-6)


def evaluation_seed(point):
    from semcom.evaluation import point_seed

    return point_seed(point.seed, point.codec, point.setting)


def test_dither_stays_in_step_over_a_lossy_reordering_link(codec):
    """Selective repeat delivers digits late and out of order; each is decoded with its own number."""
    images = torch.rand(200, 1, 28, 28)
    seq = torch.arange(200)
    idx = codec.encode(images, seq)
    from semcom.bitstream import BitPacker

    packer = BitPacker(3, 4)
    bits = packer.pack(idx.numpy())
    cfg = LinkConfig(arq="selective_repeat", window=8, max_retransmissions=3, bit_rate=2e4, arrival_rate=2000.0,
                     digits_per_packet=2, timeout=0.01)
    out = simulate_link(bits, channels.make("bsc", p=0.01), cfg, np.random.default_rng(1))
    unpacked = packer.unpack(out.bits, out.erased)
    delivered = ~unpacked.erased.any(axis=1)
    assert 0 < delivered.sum() < 200
    got = torch.from_numpy(unpacked.indices[delivered])
    np.testing.assert_allclose(codec.decode(got, seq[delivered]).numpy(),
                               codec.decode(idx, seq)[delivered].numpy(), atol=1e-6)
