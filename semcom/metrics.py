"""Rate, distortion and classification metrics (eqs. 1, 3, 4 and section 4.2)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def per_image_mse(originals: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
    """Eq. (3) for each image: mean squared pixel error, pixels in [0, 1]."""
    a = np.asarray(originals, dtype=np.float64).reshape(len(originals), -1)
    b = np.asarray(reconstructions, dtype=np.float64).reshape(len(reconstructions), -1)
    if a.shape != b.shape:
        raise ValueError(f"originals {a.shape} and reconstructions {b.shape} differ in shape")
    return ((a - b) ** 2).mean(axis=1)


def mse_to_codewords(originals: np.ndarray, codewords: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Eq. (3) for every (image, codeword) pair: an (N, K) float64 table.

    A codec with a small codebook can only output K images, so a sweep point's
    distortion is a gather from this table. Expanding |x - c|^2 = |x|^2 - 2 x.c + |c|^2
    makes the table one matrix product instead of N*K*784 differences; in float64 the
    cancellation error is about 1e-16 of |x|^2, far below any digit a table shows.
    """
    x = np.asarray(originals).reshape(len(originals), -1)
    c = np.asarray(codewords, dtype=np.float64).reshape(len(codewords), -1)
    if x.shape[1] != c.shape[1]:
        raise ValueError(f"originals have {x.shape[1]} pixels but codewords {c.shape[1]}")
    c_norms = np.einsum("ij,ij->i", c, c)
    table = np.empty((len(x), len(c)), np.float64)
    for i in range(0, len(x), chunk):  # chunks keep the float64 copy of the images small
        xb = x[i : i + chunk].astype(np.float64)
        block = table[i : i + chunk]
        np.matmul(xb, c.T, out=block)
        block *= -2.0
        block += np.einsum("ij,ij->i", xb, xb)[:, None]
        block += c_norms[None, :]
    np.maximum(table, 0.0, out=table)
    table /= x.shape[1]
    return table


def psnr(mse: float, peak: float = 1.0) -> float:
    return math.inf if mse <= 0 else 10.0 * math.log10(peak**2 / mse)


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts[i, j]: images of true class i predicted as class j."""

    counts: np.ndarray

    @classmethod
    def from_labels(cls, labels: np.ndarray, predictions: np.ndarray, n_classes: int = 10) -> "ConfusionMatrix":
        labels = np.asarray(labels, dtype=np.int64)
        predictions = np.asarray(predictions, dtype=np.int64)
        if labels.shape != predictions.shape:
            raise ValueError(f"labels {labels.shape} and predictions {predictions.shape} differ in shape")
        counts = np.bincount(labels * n_classes + predictions, minlength=n_classes * n_classes)
        return cls(counts.reshape(n_classes, n_classes))

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.counts) / self.total) if self.total else math.nan

    def per_class(self) -> list[dict[str, float]]:
        """One-vs-rest TP, FP, FN, TN, precision, recall, F1 for each class."""
        rows = []
        tp_all = np.diag(self.counts)
        for c in range(len(self.counts)):
            tp = int(tp_all[c])
            fp = int(self.counts[:, c].sum() - tp)
            fn = int(self.counts[c, :].sum() - tp)
            tn = self.total - tp - fp - fn
            precision = tp / (tp + fp) if tp + fp else math.nan
            recall = tp / (tp + fn) if tp + fn else math.nan
            f1 = 2 * precision * recall / (precision + recall) if tp else (0.0 if tp + fp + fn else math.nan)
            rows.append(dict(cls=c, tp=tp, fp=fp, fn=fn, tn=tn, precision=precision, recall=recall, f1=f1))
        return rows

    def macro_f1(self) -> float:
        return float(np.nanmean([r["f1"] for r in self.per_class()]))


def empirical_entropy_bits(indices: np.ndarray, levels: int) -> tuple[float, float]:
    """Plug-in entropies of transmitted symbols, in bits per image.

    Returns (joint, marginal_sum): the entropy of the whole symbol vector, and the sum of
    per-coordinate entropies. Both are <= dim * log2 L (eq. 1); the joint estimate is
    biased low when the sample is small compared with L**dim.
    """
    idx = np.asarray(indices, dtype=np.int64)
    if idx.size == 0:
        return 0.0, 0.0
    _, counts = np.unique(idx, axis=0, return_counts=True)
    joint = _entropy(counts)
    marginal = sum(_entropy(np.bincount(idx[:, j], minlength=levels)) for j in range(idx.shape[1]))
    return joint, float(marginal)


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())
