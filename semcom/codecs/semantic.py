"""The semantic reference codec: send the classifier's label, then refine within the class.

Message layout
--------------
With ``C = n_classes`` and a budget of ``bits`` per digit, the label costs
``label_bits = ceil(log2 C)`` bits (4 for the 10 digits) and the remaining
``refine_bits = bits - label_bits`` index a per-class k-means codebook of
``S = 2**refine_bits`` codewords. The codec emits ONE joint symbol (dim=1)

    message = label * S + refinement,   levels = C * S,

so a plain :class:`SymbolFormat` describes it. Because ``S`` is a power of two,
``payload_bits(1, C * S) = label_bits + refine_bits = bits`` and the packed bits are
exactly [label in ``label_bits`` bits, MSB first | refinement in ``refine_bits`` bits].
For C = 10 and 8 bits: 10 x 16 = 160 messages in 8 bits, so 96 of the 256 bit patterns
(label field 10..15) are never sent; :class:`semcom.bitstream.BitPacker` flags them as
invalid at the receiver.

Fitting uses the TRUE labels (one k-means codebook per class, on the training images of
that class); encoding uses the classifier's PREDICTED label, so a misclassified digit is
reconstructed as a member of the predicted class. The classifier is a frozen submodule
(:class:`DigitClassifier`, always run in eval mode) whose weights are part of this
codec's state dict, so a saved codec is self-contained.

Per-class k-means follows :func:`semcom.codecs.classical.kmeans_fit`, including its
K > N policy: a class with at most ``S`` distinct training images is memorized (its
codebook is those images, the rest duplicates) and a warning is emitted.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import nn

from semcom.codecs.networks import DigitClassifier
from semcom.codecs.base import FittedCodec, SymbolFormat
from semcom.codecs.symbols import MAX_REFINE_BITS, label_bits

PIXELS = 28 * 28
IMAGE_SHAPE = (1, 28, 28)


def _class_seed(seed: int, label: int) -> int:
    """Independent, reproducible seed for class ``label``'s k-means."""
    return int(np.random.SeedSequence([int(seed), int(label)]).generate_state(1)[0])


class LabelRefinementCodec(FittedCodec):
    """Label (from the classifier) + per-class k-means refinement, as one joint symbol."""

    kind = "label_refine"

    def __init__(self, bits: int, n_classes: int = 10, packing: str = "split") -> None:
        """``packing="split"``: the label in its own ceil(log2 C) bits, 2**(bits - label bits)
        codewords per class. ``packing="joint"``: one base-(C*S) message with S = 2**bits // C
        codewords per class, which spends the fractional bit the split form wastes
        (25 instead of 16 codewords per class at 8 bits)."""
        super().__init__()
        if packing not in ("split", "joint"):
            raise ValueError(f"LabelRefinementCodec: packing must be 'split' or 'joint', got {packing!r}")
        if not isinstance(n_classes, int) or isinstance(n_classes, bool) or n_classes < 2:
            raise ValueError(f"LabelRefinementCodec: n_classes must be an integer >= 2, got {n_classes!r}")
        n_label_bits = label_bits(n_classes)
        if (not isinstance(bits, int) or isinstance(bits, bool)
                or not n_label_bits <= bits <= n_label_bits + MAX_REFINE_BITS):
            raise ValueError(f"LabelRefinementCodec: bits must be an integer in [{n_label_bits}, "
                             f"{n_label_bits + MAX_REFINE_BITS}] (the label alone takes {n_label_bits} bits "
                             f"for {n_classes} classes), got {bits!r}")
        self.bits = bits
        self.n_classes = n_classes
        self.label_bits = n_label_bits
        self.packing = packing
        self.refine_bits = bits - n_label_bits
        self.refine_levels = (1 << bits) // n_classes if packing == "joint" else 1 << self.refine_bits
        self.symbol_format = SymbolFormat(dim=1, levels=n_classes * self.refine_levels)
        self.classifier = DigitClassifier(n_classes)
        self.classifier.requires_grad_(False)
        self.classifier.eval()
        # codebook[label * S + r] = codeword r of class ``label``
        self.register_buffer("codebook", torch.zeros(self.symbol_format.levels, PIXELS))
        self._init_fitted()

    # -- config ----------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """``{"kind": "label_refine", "bits": ..., "n_classes": ...}``."""
        config = {"kind": self.kind, "bits": self.bits, "n_classes": self.n_classes}
        if self.packing != "split":
            config["packing"] = self.packing
        return config

    def train(self, mode: bool = True) -> "LabelRefinementCodec":
        """The classifier stays in eval mode (no dropout) whatever the codec's mode."""
        super().train(mode)
        self.classifier.eval()
        return self

    # -- message layout ----------------------------------------------------------------------
    def join(self, labels: torch.Tensor, refinements: torch.Tensor) -> torch.Tensor:
        """(label, refinement) -> message indices (N, 1)."""
        return (labels.to(torch.int64) * self.refine_levels + refinements.to(torch.int64)).reshape(-1, 1)

    def split(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Message indices (N, 1) -> (labels (N,), refinements (N,))."""
        self.check_indices(indices)
        flat = indices[:, 0].to(torch.int64)
        return flat // self.refine_levels, flat % self.refine_levels

    # -- fitting -----------------------------------------------------------------------------
    @torch.no_grad()
    def fit(self, images: torch.Tensor, labels: torch.Tensor, classifier: nn.Module, seed: int,
            iterations: int = 30, batch_size: int | None = None) -> dict[str, Any]:
        """Copy the classifier's weights in, then k-means each class's TRUE-label images.

        ``classifier`` must have the state dict of ``DigitClassifier(n_classes)`` (it is copied,
        not referenced). Returns ``{"per_class": [history of kmeans_fit per class], ...}``.
        """
        from semcom.codecs.classical import flatten_images, kmeans_fit

        t0 = time.perf_counter()
        try:
            self.classifier.load_state_dict(classifier.state_dict())
        except RuntimeError as exc:  # wrong architecture or class count
            raise ValueError(f"LabelRefinementCodec needs a DigitClassifier({self.n_classes}) "
                             f"(its weights are stored in the codec): {exc}") from exc
        self.classifier.eval()
        device = self.codebook.device
        x = flatten_images(images).to(device)
        y = torch.as_tensor(labels).to(device=device, dtype=torch.int64).flatten()
        if len(y) != len(x):
            raise ValueError(f"{len(x)} images but {len(y)} labels")
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= self.n_classes):
            raise ValueError(f"labels must lie in [0, {self.n_classes}), got [{int(y.min())}, {int(y.max())}]")
        counts = torch.bincount(y, minlength=self.n_classes)
        missing = torch.nonzero(counts == 0).flatten().tolist()
        if missing:
            raise ValueError(f"no training images for class(es) {missing}: cannot fit their codebooks")
        codebook = torch.empty_like(self.codebook)
        per_class = []
        S = self.refine_levels
        for c in range(self.n_classes):
            book, hist = kmeans_fit(x[y == c], S, _class_seed(seed, c), iterations, batch_size)
            codebook[c * S : (c + 1) * S] = book
            per_class.append(hist)
        self.codebook.copy_(codebook)
        self.fitted.fill_(True)
        inertia = sum(h["inertia"][-1] if h["inertia"] else h["initial_inertia"] for h in per_class)
        return {"per_class": per_class, "train_mse": inertia / (len(x) * PIXELS),
                "seconds": time.perf_counter() - t0}

    # -- link --------------------------------------------------------------------------------
    @torch.no_grad()
    def predict_labels(self, images: torch.Tensor) -> torch.Tensor:
        """The classifier's labels (N,) for ``images`` (what the transmitter sends)."""
        return self.classifier.predict(images.reshape(len(images), *IMAGE_SHAPE).float().to(self.codebook.device))

    @torch.no_grad()
    def encode(self, images: torch.Tensor, seq: torch.Tensor | None = None,
               batch_size: int | None = None) -> torch.Tensor:
        from semcom.codecs.classical import flatten_images, nearest_codeword

        self._require_fitted()
        x = flatten_images(images).to(self.codebook.device)
        labels = self.predict_labels(images)
        refine = torch.zeros(len(x), dtype=torch.int64, device=x.device)
        S = self.refine_levels
        for c in torch.unique(labels).tolist():
            rows = labels == c
            refine[rows], _ = nearest_codeword(x[rows], self.codebook[c * S : (c + 1) * S], batch_size)
        return self.join(labels, refine)

    @torch.no_grad()
    def decode(self, indices: torch.Tensor, seq: torch.Tensor | None = None) -> torch.Tensor:
        self.check_indices(indices)
        self._require_fitted()
        out = self.codebook[indices[:, 0].to(self.codebook.device, torch.int64)]
        return out.clamp(0.0, 1.0).reshape(len(indices), *IMAGE_SHAPE)


__all__ = ["LabelRefinementCodec"]
