"""An analog joint source-channel codec (DeepJSCC-style): image -> k complex channel symbols -> image.

No quantizer and no bitstream: the encoder (Table 1's encoder, its last layer widened to
2k real outputs) emits k complex symbols per digit under an average power constraint
(E|z|^2 = 1 per symbol, enforced per image), the channel adds noise (and fades), and the
decoder (Table 1's decoder on the 2k received reals) rebuilds the image. Trained with the
channel in the loop at a training SNR; it degrades gracefully with SNR where a digital
scheme falls off its cliff. Compared with digital schemes at equal channel uses: k
symbols per digit against (coded bits / bits per symbol) per digit.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from semcom.codecs.networks import Decoder, Encoder

FADINGS = ("awgn", "rayleigh")


@dataclass(frozen=True)
class AnalogCodecConfig:
    """``symbols``: complex channel uses per digit; the channel it is trained over."""

    symbols: int
    width: int = 128
    train_snr_db: float = 10.0  # Es/N0 per symbol during training
    train_snr_spread_db: float = 0.0  # train at SNRs drawn uniformly in +- this around train_snr_db
    fading: str = "awgn"
    csi: bool = True  # receiver knows the fading coefficient (equalizes); otherwise it sees y as is

    def to_dict(self) -> dict:
        return asdict(self)


def normalize_power(z: torch.Tensor) -> torch.Tensor:
    """Scale each row (an image's 2k reals = k complex symbols) to unit average symbol energy."""
    k = z.shape[1] // 2
    return z * math.sqrt(k) / z.norm(dim=1, keepdim=True).clamp_min(1e-8)


def apply_channel(z: torch.Tensor, snr_db: float | torch.Tensor, fading: str, csi: bool,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """The received reals for transmitted reals ``z`` (N, 2k): AWGN at Es/N0 ``snr_db`` per complex
    symbol, optionally Rayleigh block fading (one coefficient per digit), equalized with CSI."""
    n, two_k = z.shape
    k = two_k // 2
    snr = torch.as_tensor(snr_db, dtype=z.dtype, device=z.device)
    sd = torch.sqrt(10 ** (-snr / 10) / 2).reshape(-1, 1) if snr.ndim else torch.sqrt(10 ** (-snr / 10) / 2)
    noise = torch.randn(z.shape, generator=generator, device="cpu").to(z) * sd
    if fading == "awgn":
        return z + noise
    zr, zi = z[:, :k], z[:, k:]
    hr, hi = (torch.randn(2, n, 1, generator=generator, device="cpu").to(z) / math.sqrt(2)).unbind(0)
    yr, yi = hr * zr - hi * zi + noise[:, :k], hr * zi + hi * zr + noise[:, k:]
    if not csi:
        return torch.cat([yr, yi], dim=1)
    mag = (hr ** 2 + hi ** 2).clamp_min(1e-8)  # zero-forcing: y / h
    return torch.cat([(yr * hr + yi * hi) / mag, (yi * hr - yr * hi) / mag], dim=1)


class AnalogCodec(nn.Module):
    """Image (N, 1, 28, 28) -> complex symbols (N, k) -> image. ``forward`` is the training path."""

    uses_dither = False

    def __init__(self, config: AnalogCodecConfig) -> None:
        super().__init__()
        if config.fading not in FADINGS:
            raise ValueError(f"fading must be one of {FADINGS}, got {config.fading!r}")
        if config.symbols < 1:
            raise ValueError(f"symbols must be >= 1, got {config.symbols}")
        self.config = config
        self.encoder = Encoder(2 * config.symbols, config.width, final=nn.Identity())
        self.decoder = Decoder(2 * config.symbols, config.width)

    @property
    def symbols(self) -> int:
        return self.config.symbols

    def transmit(self, images: torch.Tensor) -> torch.Tensor:
        """The channel input: 2k reals per image (real parts, then imaginary parts), unit power."""
        return normalize_power(self.encoder(images))

    def forward(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        cfg = self.config
        snr: float | torch.Tensor = cfg.train_snr_db
        if self.training and cfg.train_snr_spread_db > 0:
            snr = cfg.train_snr_db + cfg.train_snr_spread_db * (2 * torch.rand(len(images), generator=generator) - 1)
        z = self.transmit(images)
        return self.decoder(apply_channel(z, snr, cfg.fading, cfg.csi, generator))

    @torch.no_grad()
    def receive(self, received: torch.Tensor) -> torch.Tensor:
        return self.decoder(received)


def complex_symbols(reals: torch.Tensor | np.ndarray) -> np.ndarray:
    """(N, 2k) reals -> (N, k) complex symbols."""
    arr = np.asarray(reals)
    k = arr.shape[1] // 2
    return arr[:, :k] + 1j * arr[:, k:]
