"""Class-partitioned codebooks: the classifier's decision picks the cell, a class codebook refines it.

The encoder classifies the image (it knows the image, not its label), then sends the
number of the nearest codeword among those of the predicted class; a codeword's class is
implicit in its number, so the label costs nothing extra. Every codeword is checked to be
classified as its own class, so the reconstruction carries the classifier's decision on
the original. Two designs:

- ``allocation = "rate"`` (fixed rate, 2**bits codewords): the codewords are shared out by
  each class's distortion-rate slope (greedy marginal gains on per-class k-means
  distortion curves) instead of evenly, and all 2**bits are used (the joint label codec
  uses 10 x 25 = 250 of 256);
- ``entropy_constrained = True`` (variable rate, an average of ``bits`` per digit):
  entropy-constrained vector quantization (Chou, Lookabaugh & Gray 1989) within each class:
  more codewords than 2**bits, the encoder minimizing ||x - c||^2 + lambda * code length(c),
  lambda set by bisection so that the entropy of the codeword numbers on the training images
  is ``bits``. It needs an entropy-coded bitstream ([bitstream] coding = "entropy"): sent at
  a fixed length it costs ceil(log2 K) bits.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch

from semcom.codecs.base import FittedCodec, SymbolFormat
from semcom.codecs.networks import DigitClassifier

PIXELS = 28 * 28
IMAGE_SHAPE = (1, 28, 28)
_CURVE_SIZES = (8, 12, 18, 25, 32, 40, 50, 64)


class PartitionedCodebookCodec(FittedCodec):
    kind = "partitioned"

    def __init__(self, bits: int, codewords: int | None = None, entropy_constrained: bool = False,
                 n_classes: int = 10) -> None:
        super().__init__()
        if not isinstance(bits, int) or not 4 <= bits <= 12:
            raise ValueError(f"PartitionedCodebookCodec: bits must be an integer in [4, 12], got {bits!r}")
        k = codewords if codewords is not None else (round(1.64 * 2 ** bits) if entropy_constrained else 2 ** bits)
        if not entropy_constrained and k != 2 ** bits:
            raise ValueError(f"a fixed-rate codebook at {bits} bits has {2 ** bits} codewords, not {k}")
        if k < 2 * n_classes:
            raise ValueError(f"PartitionedCodebookCodec: {k} codewords are too few for {n_classes} classes")
        self.bits, self.n_classes, self.entropy_constrained = bits, n_classes, bool(entropy_constrained)
        self.symbol_format = SymbolFormat(dim=1, levels=int(k))
        self.classifier = DigitClassifier(n_classes)
        self.classifier.requires_grad_(False).eval()
        self.register_buffer("codebook", torch.zeros(k, PIXELS))
        self.register_buffer("owner", torch.zeros(k, dtype=torch.int64))  # class of each codeword
        self.register_buffer("penalty", torch.zeros(k))  # lambda * code length, in squared-error units
        self._init_fitted()

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "bits": self.bits, "codewords": self.levels,
                "entropy_constrained": self.entropy_constrained, "n_classes": self.n_classes}

    def train(self, mode: bool = True) -> "PartitionedCodebookCodec":
        super().train(mode)
        self.classifier.eval()
        return self

    # ------------------------------------------------------------------ coding
    def _assign(self, x: torch.Tensor, labels: torch.Tensor, codebook: torch.Tensor, owner: torch.Tensor,
                penalty: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(len(x), dtype=torch.int64, device=x.device)
        c_sq = codebook.pow(2).sum(1)
        for c in torch.unique(labels).tolist():
            rows = torch.nonzero(labels == c).flatten()
            cand = torch.nonzero(owner == c).flatten()
            for start in range(0, len(rows), 4096):
                r = rows[start : start + 4096]
                d = torch.addmm(c_sq[cand].unsqueeze(0), x[r], codebook[cand].t(), alpha=-2.0) + penalty[cand]
                out[r] = cand[d.argmin(dim=1)]
        return out

    @torch.no_grad()
    def predict_labels(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier.predict(images.reshape(len(images), *IMAGE_SHAPE).float().to(self.codebook.device))

    @torch.no_grad()
    def encode(self, images: torch.Tensor, seq: torch.Tensor | None = None) -> torch.Tensor:
        from semcom.codecs.classical import flatten_images

        self._require_fitted()
        x = flatten_images(images).to(self.codebook.device)
        return self._assign(x, self.predict_labels(images), self.codebook, self.owner, self.penalty).reshape(-1, 1)

    @torch.no_grad()
    def decode(self, indices: torch.Tensor, seq: torch.Tensor | None = None) -> torch.Tensor:
        self.check_indices(indices)
        self._require_fitted()
        return self.codebook[indices[:, 0].to(self.codebook.device, torch.int64)].clamp(0, 1).reshape(-1, *IMAGE_SHAPE)

    # ------------------------------------------------------------------ fitting
    @torch.no_grad()
    def fit(self, images: torch.Tensor, classifier: torch.nn.Module, seed: int, iterations: int = 30) -> dict:
        from semcom.codecs.classical import flatten_images, kmeans_fit

        t0 = time.perf_counter()
        self.classifier.load_state_dict(classifier.state_dict())
        self.classifier.eval()
        x = flatten_images(images)
        labels = self.predict_labels(images).cpu()
        counts = torch.bincount(labels, minlength=self.n_classes)
        if (counts < _CURVE_SIZES[-1]).any():
            raise ValueError(f"every class needs at least {_CURVE_SIZES[-1]} training images predicted as it")
        # distortion-rate curves per class, then greedy allocation of the codewords
        curves = {c: [kmeans_fit(x[labels == c], n, _seed(seed, c, n), 15)[1]["inertia"][-1] for n in _CURVE_SIZES]
                  for c in range(self.n_classes)}
        sizes = allocate(curves, self.levels, self.n_classes)
        books, owner = [], []
        for c in range(self.n_classes):
            book, _ = kmeans_fit(x[labels == c], sizes[c], _seed(seed, c, 0), iterations)
            books.append(book)
            owner += [c] * sizes[c]
        codebook, owner_t = torch.cat(books), torch.tensor(owner)
        history: dict[str, Any] = {"allocation": sizes, "lambda": 0.0}
        penalty = torch.zeros(self.levels)
        if self.entropy_constrained:
            codebook, penalty, history["lambda"], history["train_bits"] = _ecvq(
                self, x, labels, codebook, owner_t, float(self.bits), iterations)
        self.codebook.copy_(codebook)
        self.owner.copy_(owner_t)
        self.penalty.copy_(penalty)
        self.fitted.fill_(True)
        with torch.no_grad():
            own_labels = self.classifier.predict(self.codebook.clamp(0, 1).reshape(-1, *IMAGE_SHAPE))
        assign = self._assign(x, labels, self.codebook, self.owner, self.penalty)
        history.update(mislabeled_codewords=int((own_labels != self.owner).sum()),
                       train_mse=float(((self.codebook[assign].clamp(0, 1) - x) ** 2).mean()),
                       train_index_entropy_bits=_entropy(torch.bincount(assign, minlength=self.levels)),
                       seconds=time.perf_counter() - t0)
        return history


def _seed(seed: int, c: int, n: int) -> int:
    return int(np.random.SeedSequence([int(seed), int(c), int(n)]).generate_state(1)[0])


def _entropy(counts: torch.Tensor) -> float:
    p = counts.double() / counts.sum()
    p = p[p > 0]
    return float(-(p * torch.log2(p)).sum())


def allocate(curves: dict[int, list[float]], total: int, n_classes: int) -> list[int]:
    """Codewords per class: greedy largest drop of each class's distortion curve, interpolated in
    log-log coordinates (and extrapolated along its last segment beyond the largest size fitted)."""
    logs = np.log(_CURVE_SIZES)

    def distortion(c: int, k: int) -> float:
        y = np.log(curves[c])
        lk = math.log(k)
        if lk > logs[-1]:
            slope = (y[-1] - y[-2]) / (logs[-1] - logs[-2])
            return float(math.exp(y[-1] + slope * (lk - logs[-1])))
        return float(np.exp(np.interp(lk, logs, y)))

    sizes = [min(_CURVE_SIZES[0], total // n_classes)] * n_classes
    while sum(sizes) < total:
        c = max(range(n_classes), key=lambda c: distortion(c, sizes[c]) - distortion(c, sizes[c] + 1))
        sizes[c] += 1
    return sizes


def _ecvq(codec: PartitionedCodebookCodec, x: torch.Tensor, labels: torch.Tensor, init: torch.Tensor,
          owner: torch.Tensor, target_bits: float, iterations: int) -> tuple[torch.Tensor, torch.Tensor, float, float]:
    """Entropy-constrained Lloyd iterations; lambda by bisection so the training index entropy is the target."""

    def run(lam: float, iters: int) -> tuple[torch.Tensor, torch.Tensor, float]:
        book = init.clone()
        k = len(book)
        lengths = torch.full((k,), math.log2(k))
        rate = math.log2(k)
        for _ in range(iters):
            assign = codec._assign(x, labels, book, owner, lam * lengths)
            counts = torch.bincount(assign, minlength=k).float()
            sums = torch.zeros_like(book).index_add_(0, assign, x)
            used = counts > 0
            book[used] = sums[used] / counts[used, None]
            q = (counts + 0.5) / (counts.sum() + 0.5 * k)
            lengths = -torch.log2(q)
            rate = _entropy(counts.long())
        return book, lam * lengths, rate

    # the rate falls as lambda grows, and keeps falling over iterations (codewords fall out of use):
    # bisect on full-length runs, keeping the best run at or below the target
    lo, hi = 0.0, 6.0
    best = run(hi, iterations) + (hi,)
    for _ in range(7):
        mid = (lo + hi) / 2
        out = run(mid, iterations)
        if out[2] > target_bits:
            lo = mid
        else:
            hi, best = mid, out + (mid,)
    book, penalty, rate, lam = best
    return book, penalty, lam, rate
