"""The scalar quantizer of eq. (2): L centers uniformly spaced in [-1, 1]."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

TrainMode = Literal["ste", "soft", "noise"]
TRAIN_MODES = ("ste", "soft", "noise")


class UniformQuantizer(nn.Module):
    """Quantizes each latent coordinate (the encoder ends in Tanh) to one of L centers.

    Training modes, because eq. (2) alone does not say how the decoder sees hard symbols:

    - ``"ste"`` (default): the forward value is the hard center (what the receiver will
      see), the gradient is that of the soft assignment of eq. (2). This avoids the
      train/test mismatch of a purely soft path.
    - ``"soft"``: eq. (2) literally, soft assignment plus uniform noise U(-a/2, a/2),
      a = 2/(L-1), as the paper states.
    - ``"noise"``: additive uniform noise only (the usual "noisy proxy").

    ``sigma`` is the sharpness of eq. (2); the paper uses sigma = 2/L. As sigma grows the
    soft assignment tends to the hard one.
    """

    def __init__(self, levels: int, sigma: float | None = None, train_mode: TrainMode = "ste") -> None:
        super().__init__()
        if levels < 2:
            raise ValueError(f"levels must be >= 2, got {levels}")
        if train_mode not in TRAIN_MODES:
            raise ValueError(f"train_mode must be one of {TRAIN_MODES}, got {train_mode!r}")
        self.levels = levels
        self.sigma = float(sigma) if sigma is not None else 2.0 / levels
        self.train_mode = train_mode
        self.register_buffer("centers", torch.linspace(-1.0, 1.0, levels), persistent=False)

    @property
    def step(self) -> float:
        """Spacing a between neighbouring centers."""
        return 2.0 / (self.levels - 1)

    def indices(self, w: torch.Tensor) -> torch.Tensor:
        """Nearest-center indices (ties go to the lower center)."""
        scaled = (w.clamp(-1.0, 1.0) + 1.0) / self.step
        # round-half-down keeps the result deterministic at exact midpoints
        return torch.ceil(scaled - 0.5).clamp_(0, self.levels - 1).long()

    def values(self, indices: torch.Tensor) -> torch.Tensor:
        return self.centers[indices]

    def soft(self, w: torch.Tensor) -> torch.Tensor:
        """Eq. (2): softmax(-sigma |w - c_j|) weighted sum of the centers."""
        dist = (w.unsqueeze(-1) - self.centers).abs()
        weights = torch.softmax(-self.sigma * dist, dim=-1)
        return (weights * self.centers).sum(-1)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return self.values(self.indices(w))
        if self.train_mode == "ste":
            soft = self.soft(w)
            hard = self.values(self.indices(w))
            return soft + (hard - soft).detach()
        noise = (torch.rand_like(w) - 0.5) * self.step
        if self.train_mode == "soft":
            return self.soft(w) + noise
        return w + noise
