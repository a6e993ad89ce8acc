"""The scalar quantizer of eq. (2): L centers uniformly spaced in [-1, 1]."""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import nn

TrainMode = Literal["ste", "soft", "noise"]
from semcom.codecs.symbols import TRAIN_MODES  # noqa: E402


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


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijective, well-mixed hash of uint64 counters."""
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class SharedDither:
    """The dither of universal quantization, drawn from randomness both ends share.

    Sender and receiver compute the same u ~ U(-a/2, a/2) for coordinate j of the digit with
    sequence number s, as a pure function of (key, s, j): a counter-based generator, so the
    value never depends on which digits were sent before, lost, or arrived out of order.
    u costs no rate; ``key`` is the session's shared secret (an integer).
    """

    def __init__(self, dim: int, step: float, key: int = 0) -> None:
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        if not 0 <= int(key) < 2**63:
            raise ValueError(f"dither key must be an integer in [0, 2**63), got {key!r}")
        self.dim, self.step, self.key = int(dim), float(step), int(key)

    def __call__(self, seq: np.ndarray | torch.Tensor) -> torch.Tensor:
        """float32 (N, dim) dither for the digits numbered ``seq`` (N,)."""
        s = np.asarray(seq.cpu() if isinstance(seq, torch.Tensor) else seq)
        if s.ndim != 1 or (s.size and (not np.issubdtype(s.dtype, np.integer) or s.min() < 0)):
            raise ValueError(f"sequence numbers must be a 1-D array of integers >= 0, got {s.dtype} {s.shape}")
        with np.errstate(over="ignore"):
            counter = (s.astype(np.uint64)[:, None] * np.uint64(self.dim)
                       + np.arange(self.dim, dtype=np.uint64)[None, :])
            mixed = _splitmix64(counter ^ _splitmix64(np.full(1, self.key, np.uint64)))
        unit = (mixed >> np.uint64(40)).astype(np.float64) / float(1 << 24)  # 24 bits: exact in float32
        return torch.from_numpy(((unit - 0.5) * self.step).astype(np.float32))
