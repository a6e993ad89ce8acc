"""The learned codec of Table 1: encoder f, quantizer q, decoder g."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from semcom.codecs.base import Codec, SymbolFormat
from semcom.codecs.networks import Decoder, Encoder
from semcom.codecs.quantizer import UniformQuantizer


@dataclass(frozen=True)
class LearnedCodecConfig:
    """Architecture of a learned codec; ``width`` scales the hidden layers (128 = paper)."""

    dim: int
    levels: int
    width: int = 128
    quantizer_mode: str = "ste"
    sigma: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class LearnedCodec(Codec):
    """X -> f -> q -> indices -> centers -> g -> X_hat.

    All variants of the paper's family (MSE only, deep feature, WGAN, Haar-WGAN) share
    this module; they differ only in how they are trained.
    """

    def __init__(self, config: LearnedCodecConfig) -> None:
        super().__init__()
        self.config = config
        self.symbol_format = SymbolFormat(config.dim, config.levels)
        self.encoder = Encoder(config.dim, config.width)
        self.quantizer = UniformQuantizer(config.levels, config.sigma, config.quantizer_mode)  # type: ignore[arg-type]
        self.decoder = Decoder(config.dim, config.width)

    def forward(self, images: torch.Tensor, corrupt=None) -> torch.Tensor:
        """Training path. ``corrupt`` maps hard indices to what a noisy link delivers
        (channel-aware training); gradients pass straight through it."""
        w = self.encoder(images)
        if corrupt is None:
            return self.decoder(self.quantizer(w))
        soft = self.quantizer.soft(w)
        hard = self.quantizer.values(corrupt(self.quantizer.indices(w)))
        return self.decoder(soft + (hard - soft).detach())

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.quantizer.indices(self.encoder(images))

    @torch.no_grad()
    def decode(self, indices: torch.Tensor) -> torch.Tensor:
        self.check_indices(indices)
        return self.decoder(self.quantizer.values(indices))
