"""What a codec emits per digit, as plain values (no torch): the symbol format and the rate rule.

Kept apart from the codecs themselves so that validating a scenario imports no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: how the eq. 2 quantizer's training path sees hard symbols (semcom.codecs.quantizer)
TRAIN_MODES = ("ste", "soft", "noise")


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


MAX_KMEANS_BITS = 16  # 65,536 codewords of 784 floats: a 200 MB codebook
MAX_REFINE_BITS = 12  # with MNIST's 4 label bits, at most 16 bits: k-means' limit


def label_bits(n_classes: int) -> int:
    """Bits the label takes in the split packing: ceil(log2 C)."""
    return math.ceil(math.log2(n_classes))
