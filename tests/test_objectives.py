"""Codec training objectives, channel-aware corruption, and checkpoint resume."""

import math

import pytest
import torch

from semcom.codecs.networks import DigitClassifier
from semcom.codecs import LearnedCodecConfig
from semcom.models.training.codec import symbol_corruptor, train_codec
from semcom.models.training.common import TrainConfig
from semcom.models.training.objectives import OBJECTIVES, LossWeights, loss_weights

torch.set_num_threads(1)


def _images(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 1, 28, 28)
    for i in range(n):  # bars at random rows: simple, learnable structure
        r = int(torch.randint(4, 24, (1,), generator=g))
        x[i, 0, r : r + 3, 4:24] = 1.0
    y = torch.randint(0, 10, (n,), generator=g)
    return x, y


def test_bsc_corruptor_flips_bits_at_rate_p():
    g = torch.Generator().manual_seed(0)
    flip = symbol_corruptor({"kind": "bsc", "p": 0.1}, levels=16, generator=g)
    idx = torch.randint(0, 16, (20000, 4), generator=torch.Generator().manual_seed(1))
    out = flip(idx)
    changed_bits = sum(((idx ^ out) >> k & 1).sum().item() for k in range(4))
    rate = changed_bits / (idx.numel() * 4)
    assert abs(rate - 0.1) < 5 * math.sqrt(0.1 * 0.9 / (idx.numel() * 4))
    assert int(out.max()) < 16 and int(out.min()) >= 0


def test_corruptor_flips_the_same_bits_the_link_would():
    """With every bit flipped, training corruption equals pack -> invert -> unpack on the link."""
    import numpy as np

    from semcom.bitstream import BitPacker

    idx = torch.arange(8).repeat(3).reshape(-1, 1)
    for mapping in ("natural", "gray"):
        flip_all = symbol_corruptor({"kind": "bsc", "p": 1.0, "mapping": mapping}, levels=8,
                                    generator=torch.Generator().manual_seed(0))
        packer = BitPacker(1, 8, mapping)
        expected = packer.unpack(1 - packer.pack(idx.numpy())).indices
        assert np.array_equal(flip_all(idx).numpy(), expected), mapping
    keep = symbol_corruptor({"kind": "bsc", "p": 0.0, "mapping": "gray"}, levels=8,
                            generator=torch.Generator().manual_seed(0))
    assert torch.equal(keep(idx), idx)


def test_bec_corruptor_erases_symbols_to_the_batch_mode():
    g = torch.Generator().manual_seed(0)
    erase = symbol_corruptor({"kind": "bec", "epsilon": 0.2}, levels=4, generator=g)
    idx = torch.full((10000, 3), 3)
    idx[:2000] = 1  # the mode of every column stays 3
    out = erase(idx)
    lost = (out != idx)
    expected = 1 - 0.8**2  # a 2-bit symbol is lost when either bit is
    assert abs(lost[:2000].float().mean().item() - expected) < 0.04
    assert (out[lost] == 3).all()


@pytest.mark.parametrize("objective,extra", [
    ("mse", {"lambda_mse": 1.0, "train_channel": {"kind": "bsc", "p": 0.05}}),
    ("deep_feature", {"lambda_mse": 1.0, "lambda_feature": 1.0}),
    ("task_aware", {"lambda_mse": 1.0, "lambda_ce": 0.05}),
    ("adversarial", {"lambda_mse": 0.001, "bands": {"LL": 0.0025, "LH": 0.0035, "HL": 0.0035, "HH": 0.0035}}),
])
def test_each_objective_trains_on_a_tiny_config(objective, extra):
    x, y = _images()
    clf = DigitClassifier().eval()
    cfg = TrainConfig(epochs=1, batch_size=32, device="cpu")
    codec, hist = train_codec(LearnedCodecConfig(4, 4, width=8), cfg, LossWeights.from_extra(extra), x, x[:32],
                              y[:32], clf, train_y=y, progress=False)
    assert len(hist["loss"]) == 1 and math.isfinite(hist["loss"][0])
    assert 0 < hist["val_mse"][0] < 1
    if objective == "adversarial":
        assert hist["critic_loss"][0] != 0.0  # the four critics were trained
    idx = codec.encode(x[:5])
    assert idx.shape == (5, 4)


@pytest.mark.slow
def test_resume_from_checkpoint_equals_uninterrupted_run(tmp_path):
    x, y = _images(64)
    extra = {"lambda_mse": 0.001, "bands": {"LL": 0.0025, "LH": 0.0035, "HL": 0.0035, "HH": 0.0035}}
    cfg = TrainConfig(epochs=3, batch_size=32, device="cpu", seed=3, lr_decay_start=1, lr_decay_every=1)
    arch = LearnedCodecConfig(3, 4, width=8)
    w = LossWeights.from_extra(extra)
    full, full_hist = train_codec(arch, cfg, w, x, x[:16], progress=False)
    ckpt = tmp_path / "c.ckpt"
    train_codec(arch, cfg, w, x, x[:16], checkpoint=ckpt, progress=False, stop_after_epoch=1)
    assert ckpt.exists()
    resumed, resumed_hist = train_codec(arch, cfg, w, x, x[:16], checkpoint=ckpt, progress=False)
    for k, v in full.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k
    assert full_hist["loss"] == resumed_hist["loss"]


@pytest.mark.slow
def test_bf16_precision_trains_in_bfloat16_and_keeps_float32_weights():
    x, y = _images(64)
    extra = {"lambda_mse": 0.001, "bands": {"LL": 0.0025, "LH": 0.0035, "HL": 0.0035, "HH": 0.0035},
             "mse_reduction": "sum"}
    arch = LearnedCodecConfig(3, 4, width=8)
    runs = {}
    for precision in ("fp32", "bf16"):
        cfg = TrainConfig(epochs=2, batch_size=32, device="cpu", seed=1, precision=precision)
        runs[precision] = train_codec(arch, cfg, LossWeights.from_extra(extra), x, x[:16], progress=False)
    (c32, h32), (c16, h16) = runs["fp32"], runs["bf16"]
    assert all(v.dtype == torch.float32 for v in c16.state_dict().values() if v.is_floating_point())
    assert all(math.isfinite(v) for v in h16["loss"] + h16["val_mse"])
    # the bf16 steps really ran in reduced precision: same seed, different weights
    assert any(not torch.equal(a, b) for a, b in zip(c32.state_dict().values(), c16.state_dict().values()))
    assert abs(h16["val_mse"][-1] - h32["val_mse"][-1]) < 0.05


def test_precision_enters_the_model_key_only_when_not_the_default():
    base = TrainConfig()
    assert "precision" not in base.identity()  # keys of models trained before the option stay
    assert TrainConfig(precision="bf16").identity()["precision"] == "bf16"
    with pytest.raises(ValueError, match="precision"):
        with TrainConfig(precision="fp8").autocast(torch.device("cpu")):
            pass


def test_an_objective_named_in_a_notebook_trains_that_objective():
    """train_codec(objective="deep_feature") used to train plain MSE silently."""
    x, y = _images(64)
    clf = DigitClassifier().eval()
    cfg = TrainConfig(epochs=1, batch_size=32, device="cpu", seed=2)
    arch = LearnedCodecConfig(3, 4, width=8)
    named, _ = train_codec(arch, cfg, "deep_feature", x, x[:16], y[:16], clf, progress=False)
    typed, _ = train_codec(arch, cfg, loss_weights("deep_feature"), x, x[:16], y[:16], clf, progress=False)
    plain, _ = train_codec(arch, cfg, "mse", x, x[:16], y[:16], clf, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(named.state_dict().values(), typed.state_dict().values()))
    assert any(not torch.equal(a, b) for a, b in zip(named.state_dict().values(), plain.state_dict().values()))
    with pytest.raises(ValueError, match="needs the pretrained classifier"):
        train_codec(arch, cfg, "deep_feature", x, x[:16], progress=False)
    with pytest.raises(ValueError, match="unknown objective 'deepfeature'"):
        train_codec(arch, cfg, "deepfeature", x, x[:16], progress=False)


def test_registered_objectives_give_their_documented_defaults():
    assert set(OBJECTIVES) >= {"mse", "deep_feature", "adversarial", "task_aware"}
    assert loss_weights("deep_feature").to_extra() == {"lambda_mse": 1.0, "lambda_feature": 0.01}
    na2 = loss_weights("adversarial", preset="NA2")
    assert na2.to_extra() == {"lambda_mse": 0.001, "preset": "NA2", "mse_reduction": "sum",
                              "bands": {"LL": 0.0025, "LH": 0.0035, "HL": 0.0035, "HH": 0.0035}}
    assert LossWeights.from_extra(na2.to_extra()) == na2
    with pytest.raises(ValueError, match="needs a preset"):
        loss_weights("adversarial")
    with pytest.raises(ValueError, match="preset is only used"):
        loss_weights("mse", preset="NA2")
