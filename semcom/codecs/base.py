"""The codec interface the rest of the chain is written against."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class SymbolFormat:
    """What a codec emits per image: ``dim`` symbols, each one of ``levels`` values."""

    dim: int
    levels: int

    def __post_init__(self) -> None:
        if not isinstance(self.dim, int) or isinstance(self.dim, bool) or self.dim < 1:
            raise ValueError(f"dim must be a positive integer, got {self.dim!r}")
        if not isinstance(self.levels, int) or isinstance(self.levels, bool) or self.levels < 2:
            raise ValueError(f"levels (L) must be an integer >= 2, got {self.levels!r}")

    @property
    def nominal_bits(self) -> float:
        """Eq. (1): the rate bound dim * log2(L), in bits per digit."""
        return self.dim * math.log2(self.levels)

    @property
    def codebook_size(self) -> int:
        """Number of distinct symbol vectors, L ** dim."""
        return self.levels**self.dim


def format_for_bits(bits: int, levels: int = 4) -> SymbolFormat:
    """Map a bits-per-digit budget to (dim, L) with L fixed: dim = bits / log2 L.

    The rule keeps the alphabet fixed and grows the latent, which is how the paper's
    8 and 12 bits/digit points differ. ``bits`` must be a multiple of log2 L.
    """
    bits_per_symbol = math.log2(levels)
    dim = bits / bits_per_symbol
    if levels < 2 or not bits_per_symbol.is_integer() or not float(dim).is_integer() or dim < 1:
        raise ValueError(
            f"bits={bits} cannot be split into symbols of L={levels} levels "
            f"(need L a power of two and bits a positive multiple of log2 L); give dim and levels explicitly"
        )
    return SymbolFormat(dim=int(dim), levels=levels)


class Codec(nn.Module, ABC):
    """Images (N, 1, 28, 28) in [0, 1] <-> integer symbols (N, dim) in [0, L).

    ``forward`` is the differentiable training path; ``encode``/``decode`` are the
    inference paths used on the link. Decoding must accept any index tensor of the
    right shape and range, because the receiver may have replaced erased symbols.
    """

    symbol_format: SymbolFormat

    @property
    def dim(self) -> int:
        return self.symbol_format.dim

    @property
    def levels(self) -> int:
        return self.symbol_format.levels

    @abstractmethod
    def encode(self, images: torch.Tensor, seq: torch.Tensor | None = None) -> torch.Tensor:
        """Hard symbol indices, int64 of shape (N, dim)."""

    @abstractmethod
    def decode(self, indices: torch.Tensor, seq: torch.Tensor | None = None) -> torch.Tensor:
        """Reconstructions, float of shape (N, 1, 28, 28) in [0, 1]."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:  # pragma: no cover - overridden by learned codecs
        return self.decode(self.encode(images))

    def check_indices(self, indices: torch.Tensor) -> None:
        if indices.ndim != 2 or indices.shape[1] != self.dim:
            raise ValueError(f"expected indices of shape (N, {self.dim}), got {tuple(indices.shape)}")
        if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= self.levels):
            raise ValueError(f"indices must lie in [0, {self.levels}), got range "
                             f"[{int(indices.min())}, {int(indices.max())}]")


class FittedCodec(Codec):
    """Codecs fitted to data (k-means, PCA, label + refinement): a ``fitted`` flag buffer,
    so unfitted use fails clearly, and the config round trip that rebuilds them from a card."""

    kind: str = ""

    def _init_fitted(self) -> None:
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    @property
    def is_fitted(self) -> bool:
        return bool(self.fitted)

    def _require_fitted(self) -> None:
        if not self.is_fitted:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(...) or load_state_dict(...)")

    def config(self) -> dict[str, Any]:
        """``{"kind": ..., **constructor arguments}``; :func:`from_config` rebuilds the codec."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "FittedCodec":
        args = dict(config)
        kind = args.pop("kind", cls.kind)
        if kind != cls.kind:
            raise ValueError(f"config of kind {kind!r} given to {cls.__name__} (kind {cls.kind!r})")
        return cls(**args)

    def _device(self) -> torch.device:
        return self.fitted.device
