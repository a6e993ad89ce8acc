"""The analog (DeepJSCC-style) codec: power constraint, the channel in the loop, and its sweep points."""

import math

import numpy as np
import pytest
import torch

import channels
from semcom.codecs.analog import AnalogCodec, AnalogCodecConfig, apply_channel
from semcom.codecs.networks import DigitClassifier
from semcom.evaluation import AnalogBench, CodecUnderTest
from semcom.models.training.analog import train_analog
from semcom.models.training.config import TrainConfig
from semcom.models.training.objectives import loss_weights
from semcom.sweep import ChannelPoint, SweepPoint


def test_encoder_meets_its_average_power_constraint():
    codec = AnalogCodec(AnalogCodecConfig(symbols=8, width=16)).eval()
    z = codec.transmit(torch.rand(50, 1, 28, 28))
    energy = (z ** 2).sum(dim=1) / 8  # per complex symbol, image by image
    np.testing.assert_allclose(energy.detach().numpy(), 1.0, rtol=1e-5)


@pytest.mark.parametrize("snr_db", [0.0, 10.0])
def test_awgn_noise_has_the_variance_of_its_es_n0(snr_db):
    z = torch.zeros(20000, 16)
    y = apply_channel(z, snr_db, "awgn", True, torch.Generator().manual_seed(0))
    assert float((y ** 2).sum(dim=1).mean() / 8) == pytest.approx(10 ** (-snr_db / 10), rel=0.02)


def test_rayleigh_with_csi_equalizes_and_without_csi_does_not():
    z = torch.ones(4000, 2)  # one complex symbol 1 + 1j
    g = torch.Generator().manual_seed(1)
    with_csi = apply_channel(z, 40.0, "rayleigh", True, g)
    without = apply_channel(z, 40.0, "rayleigh", False, torch.Generator().manual_seed(1))
    assert float((with_csi - z).abs().median()) < 0.05  # equalized: the symbol back, up to noise
    assert float((without - z).abs().median()) > 0.3  # rotated and scaled by h


def test_training_with_the_channel_in_the_loop_lowers_the_distortion():
    x = torch.zeros(256, 1, 28, 28)
    for i in range(256):
        x[i, 0, 4 + i % 20 : 8 + i % 20, 6:22] = 1.0
    cfg = TrainConfig(epochs=3, batch_size=32, lr=0.005, device="cpu", lr_decay_start=10)
    codec, hist = train_analog(AnalogCodecConfig(4, width=16, train_snr_db=10.0), cfg, loss_weights("mse"),
                               x, x[:64], progress=False)
    assert hist["val_mse"][-1] < hist["val_mse"][0] < 0.5
    with pytest.raises(ValueError, match="without critics"):
        train_analog(AnalogCodecConfig(4, width=16), cfg, loss_weights("adversarial", preset="NA2"), x, x[:64],
                     progress=False)


def test_analog_sweep_points_degrade_gracefully_with_snr():
    images = torch.zeros(256, 1, 28, 28)
    for i in range(256):
        images[i, 0, 4 + i % 20 : 8 + i % 20, 6:22] = 1.0
    cfg = TrainConfig(epochs=3, batch_size=32, lr=0.005, device="cpu", lr_decay_start=10)
    codec, _ = train_analog(AnalogCodecConfig(8, width=16, train_snr_db=10.0), cfg, loss_weights("mse"),
                            images, images[:64], progress=False)
    labels = np.random.default_rng(0).integers(0, 10, 256)
    bench = AnalogBench(CodecUnderTest("a", codec, "analog mse", None, "k"), DigitClassifier().eval(), images, labels)
    rows = {snr: bench.run(SweepPoint("a", ChannelPoint.of(channels.CodedLink(snr_db=snr, snr="esn0")), 0)).row
            for snr in (-5.0, 5.0, 20.0)}
    clean = bench.run(SweepPoint("a", ChannelPoint("clean", {}, "clean"), 0)).row
    # a 3-epoch toy codec: between 5 and 20 dB its distortion is flat within noise, so only the
    # ends are ordered: heavy noise costs distortion, and at 20 dB the channel costs almost nothing
    assert rows[-5.0]["mse"] > 1.05 * rows[20.0]["mse"]
    assert rows[-5.0]["mse"] > 1.05 * rows[5.0]["mse"]
    assert rows[20.0]["mse"] == pytest.approx(clean["mse"], rel=0.02)
    assert rows[20.0]["channel_uses_per_digit"] == 8 and rows[20.0]["esn0_db"] == 20.0
    assert math.isnan(rows[20.0]["bits_per_digit"]) and rows[20.0]["coding"] == "analog"
    with pytest.raises(ValueError, match="'clean' or 'coded'"):
        bench.run(SweepPoint("a", ChannelPoint.of(channels.BinarySymmetric(p=0.1)), 0))


def test_task_aware_objective_trains_the_analog_codec_towards_the_classifiers_labels():
    # labels the frozen classifier does not produce on the originals: only the cross-entropy
    # term can make the reconstructions carry them, so accuracy rises only if that term acts
    torch.manual_seed(0)
    images = torch.zeros(200, 1, 28, 28)
    labels = torch.arange(200) % 10
    for i in range(200):
        images[i, 0, 2 + 2 * int(labels[i]) : 6 + 2 * int(labels[i]), 4:24] = 1.0
    classifier = DigitClassifier().eval()
    cfg = TrainConfig(epochs=4, batch_size=20, lr=0.005, device="cpu", lr_decay_start=10)
    codec_cfg = AnalogCodecConfig(4, width=16, train_snr_db=20.0)
    accuracy = {}
    for objective, extra in (("mse", {}), ("task_aware", {"lambda_ce": 10.0})):
        _, hist = train_analog(codec_cfg, cfg, loss_weights(objective, **extra), images, images, labels, classifier,
                               train_y=labels, progress=False)
        accuracy[objective] = hist["val_accuracy"][-1]
    assert accuracy["task_aware"] > accuracy["mse"] + 0.5
    with pytest.raises(ValueError, match="training labels"):
        train_analog(codec_cfg, cfg, loss_weights("task_aware"), images, images, labels, classifier, progress=False)
