"""The codec interface the rest of the chain is written against."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
from torch import nn

from semcom.codecs.symbols import SymbolFormat, format_for_bits  # noqa: F401  (re-exported)


class Codec(nn.Module, ABC):
    """Images (N, 1, 28, 28) in [0, 1] <-> integer symbols (N, dim) in [0, L).

    ``forward`` is the differentiable training path; ``encode``/``decode`` are the
    inference paths used on the link. Decoding must accept any index tensor of the
    right shape and range, because the receiver may have replaced erased symbols.
    """

    symbol_format: SymbolFormat
    #: whether encode/decode take a shared dither (``seq``); a dithered codec cannot be tabulated
    uses_dither: bool = False

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
