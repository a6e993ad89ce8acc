"""WGAN-GP training pieces: eqs. 6-9 and Algorithm 1 of the paper, and the Haar variant (eq. 10).

The generator is the learned codec k = g o q o f; each critic h_b sees one "view" of an
image: the 28x28 image itself (band ``"image"``, the plain WGAN of Blau & Michaeli) or one
14x14 sub-band of its 2-D Haar DWT (``"LL"``, ``"LH"``, ``"HL"``, ``"HH"``; eq. 10).

For every band b (eq. 9, per critic)::

    critic loss_b    = -(E h_b(X) - E h_b(X_hat)) + gp_lambda * E[(||grad h_b(X~)||_2 - 1)^2]
    generator loss   = lambda_mse * MSE(X_hat, X) + sum_b lambda_b * (E h_b(X) - E h_b(X_hat))

with X~ = eps * X + (1 - eps) * X_hat, eps ~ U[0, 1] per sample, interpolated in the band's
own domain (the Haar DWT is linear, so interpolating sub-bands or images is the same; the
gradient norm is taken with respect to the band the critic sees).

The training loop (``semcom.models.training.codec``) owns the data, schedules and checkpoints and
calls :func:`adversarial_step` once per batch, with optimizers from :func:`make_optimizers`.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from semcom.codecs.haar import BANDS, haar_bands
from semcom.models.training.objectives import (  # noqa: F401  (re-exported)
    ALL_BANDS, IMAGE_BAND, MSE_REDUCTIONS, PRESETS, AdversarialWeights)
from semcom.codecs.networks import Critic

IMAGE_SIZE = 28


class CriticSet(nn.Module):
    """One :class:`~semcom.codecs.networks.Critic` per band.

    ``"image"`` -> ``Critic(1, size=28)`` (28 -> 14 -> 7 -> 4, flatten 256*4*4 at width 64);
    a Haar band -> ``Critic(1, size=14)`` (14 -> 7 -> 4 -> 2, the same three stride-2 convs).
    No BatchNorm anywhere, as WGAN-GP requires (the penalty is per sample).
    """

    def __init__(self, bands: Iterable[str], width: int = 64) -> None:
        super().__init__()
        names = list(bands)
        unknown = [b for b in names if b not in ALL_BANDS]
        if unknown:
            raise ValueError(f"unknown critic band(s) {unknown}; expected some of {ALL_BANDS}")
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate critic bands in {names}")
        ordered = [b for b in ALL_BANDS if b in names]
        self.bands = tuple(ordered)
        self.width = width
        self.critics = nn.ModuleDict({
            b: Critic(in_channels=1, size=IMAGE_SIZE if b == IMAGE_BAND else IMAGE_SIZE // 2, width=width)
            for b in ordered
        })

    def __len__(self) -> int:
        return len(self.bands)

    def __getitem__(self, band: str) -> Critic:
        return self.critics[band]  # type: ignore[return-value]

    def views(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Band name -> the tensor that band's critic sees (the image, or a Haar sub-band)."""
        out: dict[str, torch.Tensor] = {}
        if IMAGE_BAND in self.bands:
            out[IMAGE_BAND] = x
        if any(b in BANDS for b in self.bands):
            sub = haar_bands(x)
            out.update({b: sub[b] for b in self.bands if b in sub})
        return out

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Band -> critic scores, shape (N,)."""
        return {b: self.critics[b](v) for b, v in self.views(x).items()}


def _uniform_eps(n: int, ndim: int, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """eps ~ U[0, 1], one per sample, broadcastable over the sample's dimensions."""
    shape = (n,) + (1,) * (ndim - 1)
    if generator is None:
        return torch.rand(shape, device=like.device, dtype=like.dtype)
    eps = torch.rand(shape, generator=generator, device=generator.device, dtype=like.dtype)
    return eps.to(like.device)


def _penalty_from(scores: torch.Tensor, interpolates: torch.Tensor) -> torch.Tensor:
    grad = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)[0]
    # the tiny constant keeps the sqrt differentiable where a gradient is exactly zero
    norms = torch.sqrt(grad.flatten(1).pow(2).sum(1) + 1e-12)
    return (norms - 1.0).pow(2).mean()


def _interpolate(real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} must have the same shape")
    real, fake = real.detach(), fake.detach()
    eps = _uniform_eps(real.shape[0], real.dim(), real, generator)
    return (eps * real + (1.0 - eps) * fake).requires_grad_(True)


def gradient_penalty(
    critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Eq. 9's E[(||grad h(x~)||_2 - 1)^2], x~ = eps*real + (1-eps)*fake, eps ~ U[0,1] per sample.

    ``real`` and ``fake`` are detached (the penalty trains the critic only); the graph is
    kept (``create_graph=True``) so the penalty back-propagates into the critic's weights.
    ``generator`` (a torch.Generator on any device) makes eps reproducible.
    """
    interpolates = _interpolate(real, fake, generator)
    return _penalty_from(critic(interpolates), interpolates)


def critic_loss(
    critics: CriticSet, real: torch.Tensor, fake: torch.Tensor, gp_lambda: float,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Sum over bands of eq. 9: -(E h_b(X) - E h_b(X_hat)) + gp_lambda * GP_b.

    ``fake`` is detached here, so no gradient reaches the codec. Each band's penalty is
    computed on that band's view (views of real and fake, then interpolated). Real and fake
    go through each critic as one concatenated batch (no BatchNorm, so this equals two
    passes); the interpolates get their own pass for the penalty. Returns the total loss
    and, per band, ``"w_<band>"`` (the Wasserstein estimate E h(X) - E h(X_hat)) and
    ``"gp_<band>"``.
    """
    total, info = _critic_loss(critics, real, fake, gp_lambda, generator)
    return total, _floats(info)


def _critic_loss(
    critics: CriticSet, real: torch.Tensor, fake: torch.Tensor, gp_lambda: float,
    generator: torch.Generator | None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """:func:`critic_loss` with detached 0-d tensors as logs (no device sync per value)."""
    fake = fake.detach()
    real_views, fake_views = critics.views(real.detach()), critics.views(fake)
    total = real.new_zeros(())
    info: dict[str, torch.Tensor] = {}
    for band in critics.bands:
        rv, fv = real_views[band], fake_views[band]
        n = rv.shape[0]
        critic = critics[band]
        scores = critic(torch.cat([rv, fv]))
        w = scores[:n].mean() - scores[n:].mean()
        # a separate pass: inside one concatenated batch, the penalty's double backward
        # would also run over the real and fake rows
        interpolates = _interpolate(rv, fv, generator)
        gp = _penalty_from(critic(interpolates), interpolates)
        total = total - w + gp_lambda * gp
        info[f"w_{band}"] = w.detach()
        info[f"gp_{band}"] = gp.detach()
    return total, info


def _floats(info: dict[str, torch.Tensor]) -> dict[str, float]:
    """One device-to-host copy for all logged values instead of one sync per value."""
    if not info:
        return {}
    values = torch.stack([v.reshape(()).float() for v in info.values()]).tolist()
    return dict(zip(info, values))


def generator_adversarial_loss(
    critics: CriticSet, real: torch.Tensor, fake: torch.Tensor, weights: AdversarialWeights,
) -> tuple[torch.Tensor, dict[str, float]]:
    """sum_b lambda_b * (E h_b(X) - E h_b(X_hat))  (eq. 8 for one critic, eq. 10 for four).

    Gradient flows only through ``fake``; E h_b(X) is a constant for the generator and is
    computed without a graph, but kept so each logged ``"adv_<band>"`` is the Wasserstein
    estimate. Bands with weight 0 are skipped.
    """
    total, info = _generator_adversarial_loss(critics, real, fake, weights)
    return total, _floats(info)


def _generator_adversarial_loss(
    critics: CriticSet, real: torch.Tensor, fake: torch.Tensor, weights: AdversarialWeights,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    bands = weights.active_bands
    missing = [b for b in bands if b not in critics.bands]
    if missing:
        raise ValueError(f"weights name band(s) {missing} but the critic set has only {critics.bands}")
    total = fake.new_zeros(())
    info: dict[str, torch.Tensor] = {}
    if not bands:
        return total, info
    with torch.no_grad():
        real_views = critics.views(real)
    fake_views = critics.views(fake)
    for band in bands:
        critic = critics[band]
        with torch.no_grad():
            h_real = critic(real_views[band]).mean()
        adv = h_real - critic(fake_views[band]).mean()
        total = total + weights.bands[band] * adv
        info[f"adv_{band}"] = adv.detach()
    return total, info


def make_optimizers(
    codec: nn.Module, critics: CriticSet, lr_gen: float, lr_critic: float,
    betas: tuple[float, float] = (0.5, 0.9),
) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer | None]:
    """Adam for the codec (generator) and for all critics together.

    The paper gives the learning rates (0.0025 generator, 0.0002 critic) but not Adam's
    betas. (0.5, 0.9) is the usual WGAN-GP choice (Gulrajani et al.'s released code; their
    Algorithm 1 lists beta1 = 0, beta2 = 0.9). The critic optimizer is ``None`` when the
    critic set is empty ("only compression").
    """
    opt_gen = torch.optim.Adam(codec.parameters(), lr=lr_gen, betas=betas)
    params = list(critics.parameters())
    opt_critic = torch.optim.Adam(params, lr=lr_critic, betas=betas) if params else None
    return opt_gen, opt_critic


@contextlib.contextmanager
def _frozen(module: nn.Module) -> Iterator[None]:
    """Switch off weight gradients (input gradients still flow) and restore them after."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def critic_step(
    codec: nn.Module,
    critics: CriticSet,
    opt_critic: torch.optim.Optimizer,
    x: torch.Tensor,
    *,
    gp_lambda: float,
    generator: torch.Generator | None = None,
    corrupt: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> dict[str, float]:
    """One critic update (eq. 9) on its own batch ``x``, against fresh reconstructions.

    This is the step of Algorithm 1 as the uRDP code runs it (``critic_batches =
    "separate"``): the codec reconstructs ``x`` without a graph (in its current mode, so
    its BatchNorm statistics follow this batch too) and only the critics learn.
    """
    with torch.no_grad():
        fake = codec(x) if corrupt is None else codec(x, corrupt=corrupt)
    loss_c, info = _critic_loss(critics, x, fake, gp_lambda, generator)
    opt_critic.zero_grad(set_to_none=True)
    loss_c.backward()
    opt_critic.step()
    return _floats({"loss_critic": loss_c.detach(), **info})


def adversarial_step(
    codec: nn.Module,
    critics: CriticSet,
    opt_gen: torch.optim.Optimizer,
    opt_critic: torch.optim.Optimizer | None,
    x: torch.Tensor,
    weights: AdversarialWeights,
    *,
    critic_steps: int,
    gp_lambda: float,
    generator: torch.Generator | None = None,
    corrupt: Callable[[torch.Tensor], torch.Tensor] | None = None,
    extra_terms: Callable[[torch.Tensor], list[torch.Tensor]] | None = None,
) -> dict[str, float]:
    """One iteration of Algorithm 1 on batch ``x``: critic updates, then one generator update.

    This is the training step of every learned codec (``semcom.models.training.codec``): with no
    weighted band ("only compression") the critic updates are skipped and it is a plain
    ``lambda_mse * MSE`` step. ``corrupt`` (a training channel on the symbols) goes to the
    codec's forward; ``extra_terms(x_hat)`` lists further generator terms (deep features,
    cross-entropy), added in order before the adversarial ones.

    The codec's training-path reconstruction ``x_hat = codec(x)`` is computed ONCE, with its
    graph: the codec does not change during the critic updates, so each critic update uses
    ``x_hat.detach()`` (no gradient to the codec) and the generator update back-propagates
    through the same ``x_hat`` into the codec. With the default STE quantizer the forward
    pass is deterministic, so this is exactly "fresh reconstructions" without recomputing
    them; it also updates the codec's BatchNorm running statistics once per batch, as plain
    MSE training does. (With the stochastic "soft"/"noise" quantizer modes, all critic
    updates of one batch see the same noise draw.)

    Generator loss: ``lambda_mse * MSE(x_hat, x) [+ extra] + sum_b lambda_b * (E h_b(X) - E h_b(X_hat))``;
    critic weights get no gradient from it.

    Returns floats (one device sync per step): ``loss_gen``, ``mse``, ``loss_critic`` (last
    critic update), ``w_estimate`` (sum over bands of E h(X) - E h(X_hat) from the generator
    pass, i.e. with the updated critics), and per band ``w_<band>``/``gp_<band>`` (last
    critic update) and ``adv_<band>`` (generator pass).
    """
    if critic_steps < 0:
        raise ValueError(f"critic_steps must be >= 0, got {critic_steps}")
    adversarial = bool(weights.active_bands)
    if adversarial and opt_critic is None and critic_steps > 0:
        raise ValueError("adversarial weights need a critic optimizer (see make_optimizers)")
    x_hat = codec(x) if corrupt is None else codec(x, corrupt=corrupt)
    logs: dict[str, torch.Tensor] = {"loss_critic": x.new_zeros(())}
    if adversarial and critic_steps > 0:
        assert opt_critic is not None
        fake = x_hat.detach()
        for _ in range(critic_steps):
            loss_c, info = _critic_loss(critics, x, fake, gp_lambda, generator)
            opt_critic.zero_grad(set_to_none=True)
            loss_c.backward()
            opt_critic.step()
        logs["loss_critic"] = loss_c.detach()
        logs.update(info)
    mse = F.mse_loss(x_hat, x)
    loss_gen = weights.distortion(mse, x)
    for term in extra_terms(x_hat) if extra_terms is not None else ():
        loss_gen = loss_gen + term
    with _frozen(critics):
        adv_info: dict[str, torch.Tensor] = {}
        if adversarial:
            adv, adv_info = _generator_adversarial_loss(critics, x, x_hat, weights)
            loss_gen = loss_gen + adv
        opt_gen.zero_grad(set_to_none=True)
        loss_gen.backward()
    opt_gen.step()
    logs.update(adv_info)
    logs["loss_gen"] = loss_gen.detach()
    logs["mse"] = mse.detach()
    logs["w_estimate"] = sum(adv_info.values(), x.new_zeros(()))
    return _floats(logs)
