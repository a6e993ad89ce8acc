"""WGAN-GP pieces (eqs. 6-9, Algorithm 1) and the Haar four-critic variant (eq. 10)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from semcom.codecs.haar import BANDS, haar_dwt2
from semcom.codecs.learned import LearnedCodec, LearnedCodecConfig
from semcom.models.training.adversarial import (
    PRESETS,
    AdversarialWeights,
    CriticSet,
    adversarial_step,
    critic_loss,
    generator_adversarial_loss,
    gradient_penalty,
    make_optimizers,
)

torch.set_num_threads(1)

TINY = LearnedCodecConfig(dim=4, levels=4, width=16)


def synthetic_images(n: int, seed: int = 0) -> torch.Tensor:
    """Simple 28x28 images in [0, 1]: a Gaussian blob plus a horizontal or vertical bar."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    cy = torch.randint(6, 22, (n, 1, 1), generator=g).float()
    cx = torch.randint(6, 22, (n, 1, 1), generator=g).float()
    r = 2 + 4 * torch.rand(n, 1, 1, generator=g)
    blob = torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r**2))
    vertical = torch.rand(n, 1, 1, generator=g) < 0.5
    pos = torch.randint(4, 24, (n, 1, 1), generator=g)
    bar = torch.where(vertical, (xx - pos).abs() <= 1, (yy - pos).abs() <= 1).float()
    return (blob + bar).clamp(0, 1).unsqueeze(1)


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return synthetic_images(256)


def tiny_codec(seed: int = 0) -> LearnedCodec:
    torch.manual_seed(seed)
    return LearnedCodec(TINY).train()


# --- weights -------------------------------------------------------------------------------


def test_presets_are_the_papers():
    assert set(PRESETS) == {"only_compression", "NA1", "NA2", "NA3", "wgan"}
    for p in PRESETS.values():
        assert p.lambda_mse == 0.001
    assert PRESETS["only_compression"].bands == {}
    assert PRESETS["NA1"].bands == {"LL": 0.00005, "LH": 0.00005, "HL": 0.00005, "HH": 0.00005}
    assert PRESETS["NA2"].bands == {"LL": 0.0025, "LH": 0.0035, "HL": 0.0035, "HH": 0.0035}
    assert PRESETS["NA3"].bands == {"LL": 0.0025, "LH": 0.05, "HL": 0.05, "HH": 0.05}
    assert PRESETS["wgan"].bands == {"image": 0.0005}
    # the Haar presets weigh the MSE summed over the image (see AdversarialWeights)
    assert {n: p.mse_reduction for n, p in PRESETS.items()} == {
        "only_compression": "mean", "NA1": "sum", "NA2": "sum", "NA3": "sum", "wgan": "mean"}


def test_summed_mse_is_784_times_the_per_pixel_mean(images):
    x, x_hat = images[:8], images[8:16]
    mse = torch.nn.functional.mse_loss(x_hat, x)
    per_image_sums = ((x_hat - x) ** 2).sum(dim=(1, 2, 3)).mean()
    summed = AdversarialWeights(0.001, {}, "sum").distortion(mse, x)
    assert float(summed) == pytest.approx(0.001 * float(per_image_sums), rel=1e-5)
    assert float(AdversarialWeights(0.001, {}).distortion(mse, x)) == pytest.approx(0.001 * float(mse), rel=1e-7)
    with pytest.raises(ValueError, match="mse_reduction"):
        AdversarialWeights(1.0, {}, "median")


def test_mse_reduction_changes_the_generator_step(images):
    """Same seed, same batch: the summed MSE puts more weight on distortion, so the codec moves differently."""
    outs = []
    for reduction in ("mean", "sum"):
        torch.manual_seed(0)
        codec, critics = tiny_codec(), CriticSet(BANDS, width=8)
        opt_gen, opt_critic = make_optimizers(codec, critics, 0.001, 0.001)
        out = adversarial_step(codec, critics, opt_gen, opt_critic, images[:32],
                               AdversarialWeights(0.001, dict(PRESETS["NA2"].bands), reduction),
                               critic_steps=1, gp_lambda=10.0, generator=torch.Generator().manual_seed(0))
        outs.append((out, [p.detach().clone() for p in codec.parameters()]))
    (mean_out, mean_params), (sum_out, sum_params) = outs
    assert mean_out["mse"] == sum_out["mse"]  # the reported MSE is eq. 4 either way
    expected = 0.001 * 784 * sum_out["mse"] + sum(PRESETS["NA2"].bands[b] * sum_out[f"adv_{b}"] for b in BANDS)
    assert sum_out["loss_gen"] == pytest.approx(expected, rel=1e-4)
    assert any(not torch.equal(a, b) for a, b in zip(mean_params, sum_params))


def test_weights_reject_unknown_bands():
    with pytest.raises(ValueError, match="unknown"):
        AdversarialWeights(1.0, {"LX": 1.0})
    with pytest.raises(ValueError, match="unknown"):
        CriticSet(["image", "low"])
    assert AdversarialWeights(1.0, {"HH": 1.0, "LL": 0.0, "image": 2.0}).active_bands == ("image", "HH")


# --- critic set ----------------------------------------------------------------------------


def test_critic_set_views_and_scores(images):
    x = images[:5]
    haar = CriticSet(BANDS, width=8)
    assert haar.bands == BANDS
    views = haar.views(x)
    for name, band in zip(BANDS, haar_dwt2(x)):
        assert views[name].shape == (5, 1, 14, 14)
        torch.testing.assert_close(views[name], band, rtol=0, atol=0)
        # 14 -> 7 -> 4 -> 2 spatial, 4*width channels
        assert haar[name].head.in_features == 4 * 8 * 2 * 2
    scores = haar(x)
    assert list(scores) == list(BANDS)
    for s in scores.values():
        assert s.shape == (5,)
    plain = CriticSet(["image"], width=8)
    assert plain["image"].head.in_features == 4 * 8 * 4 * 4
    assert plain.views(x)["image"] is x
    assert plain(x)["image"].shape == (5,)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in haar.modules())


# --- gradient penalty ----------------------------------------------------------------------


class Linear(nn.Module):
    """h(x) = <w, x>, whose gradient is w everywhere."""

    def __init__(self, norm: float, shape=(1, 28, 28), seed: int = 0) -> None:
        super().__init__()
        w = torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        self.w = nn.Parameter(w * norm / w.norm())

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1)


class Recorder(nn.Module):
    """h(x) = ||x||^2 / 2 (gradient x), remembering its input."""

    def forward(self, x):
        self.seen = x.detach().clone()
        return 0.5 * x.pow(2).flatten(1).sum(1)


def test_gradient_penalty_of_linear_critics():
    g = torch.Generator().manual_seed(0)
    real = torch.rand(8, 1, 28, 28, dtype=torch.float64, generator=g)
    fake = torch.rand(8, 1, 28, 28, dtype=torch.float64, generator=g)
    assert float(gradient_penalty(Linear(1.0), real, fake, g).detach()) < 1e-6
    for norm in (0.25, 3.0):
        gp = gradient_penalty(Linear(norm), real, fake, g).detach()
        assert float(gp) == pytest.approx((norm - 1.0) ** 2, abs=1e-9)


def test_gradient_penalty_is_per_sample_and_trains_the_critic():
    real = torch.rand(6, 1, 4, 4, dtype=torch.float64)
    # real == fake, so x~ = real whatever eps; gradient of ||x||^2/2 is x
    gp = gradient_penalty(Recorder(), real, real.clone()).detach()
    expected = ((real.flatten(1).norm(dim=1) - 1.0) ** 2).mean()
    assert float(gp) == pytest.approx(float(expected), abs=1e-9)
    # the penalty is differentiable with respect to the critic's weights (create_graph)
    critic = Linear(3.0, shape=(1, 4, 4))
    gradient_penalty(critic, real, torch.zeros_like(real)).backward()
    assert critic.w.grad is not None and critic.w.grad.abs().sum() > 0


def test_gradient_penalty_interpolates_with_one_eps_per_sample():
    rec = Recorder()
    n = 64
    real, fake = torch.zeros(n, 1, 3, 3), torch.ones(n, 1, 3, 3)
    gradient_penalty(rec, real, fake, torch.Generator().manual_seed(3))
    x = rec.seen  # = 1 - eps, one eps per sample
    assert x.requires_grad is False and x.shape == real.shape
    per_sample = x.flatten(1)
    assert torch.all(per_sample == per_sample[:, :1])
    assert per_sample.min() >= 0 and per_sample.max() <= 1
    assert per_sample[:, 0].unique().numel() == n
    # uniform on [0, 1]: mean near 1/2
    assert abs(per_sample.mean().item() - 0.5) < 0.15
    # the same generator seed gives the same eps
    rec2 = Recorder()
    gradient_penalty(rec2, real, fake, torch.Generator().manual_seed(3))
    assert torch.equal(rec2.seen, x)


# --- losses --------------------------------------------------------------------------------


def test_critic_loss_is_eq9_summed_over_bands(images):
    torch.manual_seed(1)
    critics = CriticSet(BANDS, width=8)
    real, fake = images[:16], images[16:32] * 0.5
    loss0, info0 = critic_loss(critics, real, fake, gp_lambda=0.0)
    loss0 = loss0.detach()
    expected_w = {}
    real_views, fake_views = critics.views(real), critics.views(fake)
    for b in BANDS:
        with torch.no_grad():
            expected_w[b] = critics[b](real_views[b]).mean() - critics[b](fake_views[b]).mean()
        assert info0[f"w_{b}"] == pytest.approx(float(expected_w[b]), abs=1e-5)
    assert float(loss0) == pytest.approx(-sum(float(v) for v in expected_w.values()), abs=1e-5)

    loss, info = critic_loss(critics, real, fake, gp_lambda=10.0, generator=torch.Generator().manual_seed(5))
    loss = loss.detach()
    g = torch.Generator().manual_seed(5)  # the same eps draws, band by band in order
    gps = {b: float(gradient_penalty(critics[b], real_views[b], fake_views[b], g).detach()) for b in BANDS}
    for b in BANDS:
        assert info[f"gp_{b}"] == pytest.approx(gps[b], rel=1e-4, abs=1e-6)
    assert float(loss) == pytest.approx(float(loss0) + 10.0 * sum(gps.values()), rel=1e-4, abs=1e-5)


def test_critic_loss_trains_every_critic_and_never_the_codec(images):
    codec = tiny_codec()
    critics = CriticSet(BANDS, width=8)
    x = images[:16]
    fake = codec(x)  # still attached to the codec's graph: critic_loss must detach it
    loss, _ = critic_loss(critics, x, fake, gp_lambda=10.0)
    loss.backward()
    for b in BANDS:
        for name, p in critics[b].named_parameters():
            assert p.grad is not None, (b, name)
            if name != "head.bias":  # the output bias cancels in E h(X) - E h(X_hat): zero gradient
                assert p.grad.abs().sum() > 0, (b, name)
    assert all(p.grad is None for p in codec.parameters())


@pytest.mark.parametrize("band", BANDS + ("image",))
def test_generator_loss_of_each_band_alone_reaches_the_decoder(images, band):
    codec = tiny_codec()
    critics = CriticSet(BANDS + ("image",), width=8)
    x = images[:16]
    weights = AdversarialWeights(0.0, {b: (0.5 if b == band else 0.0) for b in critics.bands})
    fake = codec(x)
    loss, info = generator_adversarial_loss(critics, x, fake, weights)
    assert set(info) == {f"adv_{band}"}
    with torch.no_grad():
        h = critics[band]
        expected = 0.5 * (h(critics.views(x)[band]).mean() - h(critics.views(fake)[band]).mean())
    assert float(loss.detach()) == pytest.approx(float(expected), abs=1e-6)
    loss.backward()
    for name, p in codec.decoder.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    # gradient flows only through the fake: the real images are a constant
    xr = x.clone().requires_grad_(True)
    loss2, _ = generator_adversarial_loss(critics, xr, codec(x), weights)
    assert not loss2.requires_grad or torch.autograd.grad(loss2, xr, allow_unused=True)[0] is None


def test_generator_loss_with_no_weighted_band_is_zero(images):
    codec = tiny_codec()
    critics = CriticSet(BANDS, width=8)
    loss, info = generator_adversarial_loss(critics, images[:4], codec(images[:4]),
                                            AdversarialWeights(1.0, {b: 0.0 for b in BANDS}))
    assert float(loss) == 0.0 and info == {}
    with pytest.raises(ValueError, match="critic set"):
        generator_adversarial_loss(critics, images[:4], codec(images[:4]), PRESETS["wgan"])


# --- Algorithm 1 ---------------------------------------------------------------------------


def test_critic_learns_to_separate_real_from_fixed_reconstructions(images):
    codec = tiny_codec()
    torch.manual_seed(0)
    critics = CriticSet(["image"], width=8)
    _, opt_critic = make_optimizers(codec, critics, 0.0025, 0.001)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        fakes = codec(images)
    estimates = []
    for i in range(20):
        sl = slice((i * 64) % 256, (i * 64) % 256 + 64)
        loss, info = critic_loss(critics, images[sl], fakes[sl], 10.0, g)
        opt_critic.zero_grad()
        loss.backward()
        opt_critic.step()
        estimates.append(info["w_image"])
    assert abs(estimates[0]) < 0.05
    assert estimates[-1] > 0.2
    assert estimates[-1] > 10 * abs(estimates[0])
    # and it generalises: the gap holds on images it did not train on
    held = synthetic_images(64, seed=9)
    with torch.no_grad():
        gap = critics["image"](held).mean() - critics["image"](codec(held)).mean()
    assert float(gap) > 0.1


def test_adversarial_steps_reduce_mse_and_train_the_critic(images):
    codec = tiny_codec()
    torch.manual_seed(0)
    critics = CriticSet(["image"], width=8)
    opt_gen, opt_critic = make_optimizers(codec, critics, 0.005, 0.001)
    before = [p.detach().clone() for p in critics.parameters()]
    weights = AdversarialWeights(1.0, {"image": 0.001})  # lambda_mse dominant
    g = torch.Generator().manual_seed(0)
    logs = []
    for i in range(30):
        x = images[(i * 64) % 256 : (i * 64) % 256 + 64]
        logs.append(adversarial_step(codec, critics, opt_gen, opt_critic, x, weights,
                                     critic_steps=1, gp_lambda=10.0, generator=g))
    expected_keys = {"loss_gen", "mse", "loss_critic", "w_estimate", "w_image", "gp_image", "adv_image"}
    assert expected_keys <= set(logs[-1])
    assert all(math.isfinite(v) for log in logs for v in log.values())
    first = sum(log["mse"] for log in logs[:5]) / 5
    last = sum(log["mse"] for log in logs[-5:]) / 5
    assert last < 0.6 * first
    for log in logs:
        assert log["loss_gen"] == pytest.approx(log["mse"] + 0.001 * log["adv_image"], rel=1e-5, abs=1e-8)
        assert log["w_estimate"] == log["adv_image"]
    # the critic trains alongside: starting with near-zero input gradients (penalty ~1), it
    # becomes ~1-Lipschitz (separation itself is tested on a fixed codec above)
    gp_first = sum(log["gp_image"] for log in logs[:5]) / 5
    gp_last = sum(log["gp_image"] for log in logs[-5:]) / 5
    assert gp_last < 0.25 * gp_first
    assert any(not torch.equal(b, p) for b, p in zip(before, critics.parameters()))
    assert all(p.requires_grad for p in critics.parameters())


def test_generator_update_leaves_the_critics_alone(images):
    codec = tiny_codec()
    critics = CriticSet(BANDS, width=8)
    opt_gen, opt_critic = make_optimizers(codec, critics, 0.001, 0.001)
    before = [p.detach().clone() for p in critics.parameters()]
    out = adversarial_step(codec, critics, opt_gen, opt_critic, images[:32], PRESETS["NA3"],
                           critic_steps=0, gp_lambda=10.0)
    assert all(p.grad is None for p in critics.parameters())
    assert all(torch.equal(b, p) for b, p in zip(before, critics.parameters()))
    assert all(p.requires_grad for p in critics.parameters())
    assert out["loss_critic"] == 0.0 and set(f"adv_{b}" for b in BANDS) <= set(out)


def test_only_compression_is_a_plain_mse_step(images):
    x = images[:32]
    ref = tiny_codec()
    opt = torch.optim.Adam(ref.parameters(), lr=0.001, betas=(0.5, 0.9))
    loss = 0.001 * torch.nn.functional.mse_loss(ref(x), x)
    opt.zero_grad()
    loss.backward()
    opt.step()

    codec = tiny_codec()
    critics = CriticSet([])
    opt_gen, opt_critic = make_optimizers(codec, critics, 0.001, 0.0002)
    assert opt_critic is None
    out = adversarial_step(codec, critics, opt_gen, opt_critic, x, PRESETS["only_compression"],
                           critic_steps=1, gp_lambda=10.0)
    assert out["w_estimate"] == 0 and out["loss_critic"] == 0.0
    assert out["loss_gen"] == pytest.approx(float(loss.detach()), rel=1e-6)
    for a, b in zip(ref.state_dict().values(), codec.state_dict().values()):
        assert torch.equal(a, b)


def _run(seed: int, images: torch.Tensor, bands=BANDS) -> tuple[dict, dict]:
    torch.manual_seed(seed)
    codec = LearnedCodec(TINY).train()
    critics = CriticSet(bands, width=8)
    opt_gen, opt_critic = make_optimizers(codec, critics, 0.0025, 0.0002)
    g = torch.Generator().manual_seed(seed)
    weights = AdversarialWeights(0.001, {b: 0.01 for b in bands})
    for i in range(3):
        adversarial_step(codec, critics, opt_gen, opt_critic, images[i * 16 : (i + 1) * 16], weights,
                         critic_steps=2, gp_lambda=10.0, generator=g)
    return codec.state_dict(), critics.state_dict()


def test_same_seed_gives_bit_identical_weights(images):
    codec_a, critics_a = _run(7, images)
    codec_b, critics_b = _run(7, images)
    for k in codec_a:
        assert torch.equal(codec_a[k], codec_b[k]), k
    for k in critics_a:
        assert torch.equal(critics_a[k], critics_b[k]), k
    codec_c, _ = _run(8, images)
    assert any(not torch.equal(codec_a[k], codec_c[k]) for k in codec_a if codec_a[k].is_floating_point())
