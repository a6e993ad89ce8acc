"""The learned codec of Table 1: encoder f, quantizer q, decoder g."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from semcom.codecs.base import Codec, SymbolFormat
from semcom.codecs.networks import Decoder, Encoder
from semcom.codecs.quantizer import SharedDither, UniformQuantizer


@dataclass(frozen=True)
class LearnedCodecConfig:
    """Architecture of a learned codec; ``width`` scales the hidden layers (128 = paper).

    ``dither = True`` is universal (subtractive dithered) quantization, the quantizer of the
    uRDP code (Zhang et al. 2021) whose MNIST networks are Table 1: the encoder adds
    u ~ U(-a/2, a/2), a = 2/(L-1), to each latent coordinate before quantizing, and the
    decoder subtracts the same u, in training (fresh noise per batch) and on the link (u
    from a :class:`SharedDither` both ends compute from the digit's sequence number).
    """

    dim: int
    levels: int
    width: int = 128
    quantizer_mode: str = "ste"
    sigma: float | None = None
    dither: bool = False

    def to_dict(self) -> dict:
        d = asdict(self)
        if not d["dither"]:  # the default before the option existed: store keys stay as they were
            d.pop("dither")
        return d


class LearnedCodec(Codec):
    """X -> f -> (+u) -> q -> indices -> centers (-u) -> g -> X_hat.

    All variants of the paper's family (MSE only, deep feature, WGAN, Haar-WGAN) share
    this module; they differ only in how they are trained.
    """

    def __init__(self, config: LearnedCodecConfig, dither_key: int = 0) -> None:
        super().__init__()
        self.config = config
        self.symbol_format = SymbolFormat(config.dim, config.levels)
        self.encoder = Encoder(config.dim, config.width)
        self.quantizer = UniformQuantizer(config.levels, config.sigma, config.quantizer_mode)  # type: ignore[arg-type]
        self.decoder = Decoder(config.dim, config.width)
        self.uses_dither = bool(config.dither)
        self.shared_dither = SharedDither(config.dim, self.quantizer.step, dither_key)

    def dither(self, seq: torch.Tensor | None, n: int, device: torch.device) -> torch.Tensor | None:
        """The shared dither of digits ``seq`` (default 0..n-1), or None without dither."""
        if not self.uses_dither:
            return None
        if seq is None:
            seq = torch.arange(n)
        if len(seq) != n:
            raise ValueError(f"{len(seq)} sequence numbers for {n} digits")
        return self.shared_dither(seq).to(device)

    def forward(self, images: torch.Tensor, corrupt=None) -> torch.Tensor:
        """Training path: fresh dither per call in training mode; in eval mode the hard
        path of the link, with the shared dither of digits 0..N-1. ``corrupt`` maps hard
        indices to what a noisy link delivers (channel-aware training); gradients pass
        straight through it."""
        w = self.encoder(images)
        u = None
        if self.uses_dither:
            u = ((torch.rand_like(w) - 0.5) * self.quantizer.step if self.training
                 else self.dither(None, len(w), w.device))
            w = w + u
        if corrupt is None:
            q = self.quantizer(w)
        else:
            soft = self.quantizer.soft(w)
            hard = self.quantizer.values(corrupt(self.quantizer.indices(w)))
            q = soft + (hard - soft).detach()
        return self.decoder(q if u is None else q - u)

    @torch.no_grad()
    def encode(self, images: torch.Tensor, seq: torch.Tensor | None = None) -> torch.Tensor:
        w = self.encoder(images)
        u = self.dither(seq, len(w), w.device)
        return self.quantizer.indices(w if u is None else w + u)

    @torch.no_grad()
    def decode(self, indices: torch.Tensor, seq: torch.Tensor | None = None) -> torch.Tensor:
        self.check_indices(indices)
        z = self.quantizer.values(indices)
        u = self.dither(seq, len(z), z.device)
        return self.decoder(z if u is None else z - u)
