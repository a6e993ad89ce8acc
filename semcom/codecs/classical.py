"""Classical reference codecs at R bits per digit: a k-means vector quantizer and PCA + scalar quantizers.

Both go through the same chain as the learned codecs (``encode`` -> symbols -> bits ->
channel -> symbols -> ``decode``) and follow the :class:`Codec` contract:

* every piece of state needed to encode or decode is a registered buffer, allocated with
  its final shape at construction, so ``from_config(codec.config())`` followed by
  ``load_state_dict(torch.load(path, weights_only=True))`` rebuilds a fitted codec;
* ``decode`` accepts any in-range index (the receiver may substitute erased symbols).

Rate accounting
---------------
``KMeansVQCodec(bits)``: one symbol of ``L = 2**bits`` levels, i.e. exactly ``bits`` bits.
``PCAScalarCodec(bits, components, levels)``: ``components`` symbols of ``levels`` levels,
with ``payload_bits(components, levels) == bits`` enforced (default: ``levels = 4`` and
``components = bits / 2``).

K > N policy (k-means)
----------------------
When the codebook has at least as many codewords as the training set has *distinct*
images, Lloyd's algorithm has nothing to do: the codebook is the distinct training
images themselves (zero training distortion), and the remaining ``K - n_distinct``
codewords are copies of them (cycled in order). The codec stays valid - every index
decodes to a real image - but the duplicated indices are never produced by ``encode``
(nearest-codeword ties go to the lowest index), so the effective rate is
``log2(n_distinct)``, not ``bits``. ``fit`` emits a :class:`UserWarning` and reports
``distinct_codewords`` in its history. E.g. 16 bits (65,536 codewords) on 15,752 images
is accepted and memorizes the training set.

PCA quantizer
-------------
Each principal component gets its own Lloyd-Max quantizer: ``levels`` reconstruction
values that minimise the mean squared error on that component's empirical distribution
over the training set (1-D Lloyd iterations started from the (i + 1/2)/L quantiles).
Encoding picks the nearest reconstruction value (decision thresholds at midpoints).
Lloyd-Max is optimal for the per-component MSE, unlike a uniform grid between
quantiles, and costs nothing extra at run time.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import torch

from semcom.bitstream import payload_bits
from semcom.codecs.base import FittedCodec, SymbolFormat, format_for_bits
from semcom.codecs.symbols import MAX_KMEANS_BITS

PIXELS = 28 * 28
IMAGE_SHAPE = (1, 28, 28)
_CHUNK_ENTRIES = 1 << 24  # distance-matrix entries per chunk (64 MiB of float32)


# ---------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------
def flatten_images(images: torch.Tensor) -> torch.Tensor:
    """(N, 1, 28, 28) or (N, 784) -> float32 (N, 784)."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
    if images.ndim < 2 or math.prod(images.shape[1:]) != PIXELS:
        raise ValueError(f"expected images of shape (N, 1, 28, 28), got {tuple(images.shape)}")
    return images.reshape(len(images), PIXELS).float()


def _chunk_rows(n_codewords: int, batch_size: int | None) -> int:
    if batch_size is not None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        return int(batch_size)
    return max(1, _CHUNK_ENTRIES // max(1, n_codewords))


def nearest_codeword(x: torch.Tensor, codebook: torch.Tensor,
                     batch_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Index of the nearest codeword of each row of ``x`` and the squared distance to it.

    Distances are ``||x||^2 - 2 x.c + ||c||^2``, computed ``batch_size`` rows at a time
    (default: as many rows as keep the chunk's distance matrix under 2**24 entries).
    Ties go to the lowest index.
    """
    n = len(x)
    c_sq = codebook.pow(2).sum(1)
    idx = torch.empty(n, dtype=torch.int64, device=x.device)
    dist = torch.empty(n, dtype=x.dtype, device=x.device)
    step = _chunk_rows(len(codebook), batch_size)
    for start in range(0, n, step):
        xb = x[start : start + step]
        d = torch.addmm(c_sq.unsqueeze(0), xb, codebook.t(), alpha=-2.0)
        d.add_(xb.pow(2).sum(1, keepdim=True))
        best, arg = d.min(dim=1)
        idx[start : start + step] = arg
        dist[start : start + step] = best.clamp_min_(0.0)
    return idx, dist


def _kmeans_plus_plus(x: torch.Tensor, k: int, gen: torch.Generator) -> torch.Tensor:
    """Indices of ``k`` seeds chosen by k-means++ (D^2 sampling, one candidate per step)."""
    n = len(x)
    x_sq = x.pow(2).sum(1)
    chosen = torch.empty(k, dtype=torch.int64)
    first = int(torch.randint(n, (1,), generator=gen))
    chosen[0] = first
    c = x[first]
    d2 = (x_sq - 2.0 * (x @ c) + x_sq[first]).clamp_min_(0.0)
    d2[first] = 0.0
    for i in range(1, k):
        weights = d2.double().cumsum(0)
        total = float(weights[-1])
        if total <= 0.0:  # only duplicates of chosen seeds remain; the caller avoids this
            nxt = int(torch.randint(n, (1,), generator=gen))
        else:
            u = float(torch.rand(1, generator=gen, dtype=torch.float64)) * total
            probe = torch.full((1,), u, dtype=torch.float64, device=weights.device)
            nxt = min(int(torch.searchsorted(weights, probe, right=True)), n - 1)
        chosen[i] = nxt
        c = x[nxt]
        torch.minimum(d2, (x_sq - 2.0 * (x @ c) + x_sq[nxt]).clamp_min_(0.0), out=d2)
        d2[nxt] = 0.0
    return chosen


def kmeans_fit(x: torch.Tensor, k: int, seed: int, iterations: int = 30,
               batch_size: int | None = None) -> tuple[torch.Tensor, dict[str, Any]]:
    """k-means (k-means++ init + Lloyd) of the rows of ``x``; returns (codebook (k, D), history).

    Deterministic for a given ``seed`` (a :class:`torch.Generator` drives the seeding).
    Each iteration is an update step (means of the current cells; empty cells re-seeded
    with the points farthest from their codeword) followed by an assignment step;
    ``history["inertia"][t]`` is the sum of squared distances after iteration ``t``, so
    it is non-increasing. Stops early once the assignment no longer changes.
    If ``k`` is at least the number of distinct rows, see the module's K > N policy.
    """
    t0 = time.perf_counter()
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"need a non-empty (N, D) matrix to fit k-means, got shape {tuple(x.shape)}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    x = x.float().contiguous()
    n = len(x)
    history: dict[str, Any] = {"codewords": k, "n_train": n, "inertia": [], "initial_inertia": None,
                               "iterations": 0, "converged": False, "reseeded": 0}

    distinct = torch.unique(x, dim=0)  # sorted rows; ~0.4 s for 16k MNIST images
    if k >= len(distinct):
        m = len(distinct)
        warnings.warn(
            f"k-means with K={k} codewords on only {m} distinct training images: the codebook "
            f"is the training images themselves and {k - m} codewords are duplicates "
            f"(effective rate log2({m}) = {math.log2(m):.2f} bits of the {math.log2(k):g} spent); "
            f"use fewer bits or more training images for a real quantizer",
            UserWarning, stacklevel=3)
        codebook = distinct[torch.arange(k, device=x.device) % m].clone()
        history.update(distinct_codewords=m, duplicated_codewords=k - m, initial_inertia=0.0,
                       inertia=[0.0], converged=True, seconds=time.perf_counter() - t0)
        return codebook, history

    gen = torch.Generator().manual_seed(int(seed))
    codebook = x[_kmeans_plus_plus(x, k, gen).to(x.device)].clone()
    assign, dist = nearest_codeword(x, codebook, batch_size)
    history["initial_inertia"] = float(dist.double().sum())
    history["init_seconds"] = time.perf_counter() - t0
    for it in range(iterations):
        counts = torch.bincount(assign, minlength=k)
        sums = torch.zeros_like(codebook).index_add_(0, assign, x)
        nonempty = counts > 0
        codebook[nonempty] = sums[nonempty] / counts[nonempty].unsqueeze(1).to(x.dtype)
        empty = torch.nonzero(~nonempty).flatten()
        if len(empty):
            far = torch.argsort(dist, descending=True, stable=True)[: len(empty)]
            codebook[empty] = x[far]
            history["reseeded"] += len(empty)
        new_assign, dist = nearest_codeword(x, codebook, batch_size)
        history["inertia"].append(float(dist.double().sum()))
        history["iterations"] = it + 1
        if torch.equal(new_assign, assign):
            history["converged"] = True
            break
        assign = new_assign
    used = int((torch.bincount(assign, minlength=k) > 0).sum())
    history.update(distinct_codewords=k, duplicated_codewords=0, used_codewords=used,
                   seconds=time.perf_counter() - t0)
    return codebook, history


def _check_bits(bits: Any, low: int, high: int, what: str) -> int:
    if not isinstance(bits, int) or isinstance(bits, bool) or not low <= bits <= high:
        raise ValueError(f"{what}: bits must be an integer in [{low}, {high}], got {bits!r}")
    return bits


# ---------------------------------------------------------------------------------------
# k-means vector quantizer
# ---------------------------------------------------------------------------------------
class KMeansVQCodec(FittedCodec):
    """Full-image vector quantizer: K = 2**bits codewords in pixel space, one symbol of K levels."""

    kind = "kmeans"

    def __init__(self, bits: int) -> None:
        super().__init__()
        self.bits = _check_bits(bits, 1, MAX_KMEANS_BITS, "KMeansVQCodec")
        self.symbol_format = SymbolFormat(dim=1, levels=1 << self.bits)
        self.register_buffer("codebook", torch.zeros(self.symbol_format.levels, PIXELS))
        self._init_fitted()

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "bits": self.bits}

    @torch.no_grad()
    def fit(self, images: torch.Tensor, seed: int, iterations: int = 30,
            batch_size: int | None = None) -> dict[str, Any]:
        """k-means++ then ``iterations`` Lloyd steps; ``batch_size`` = images per distance chunk.

        Returns the history of :func:`kmeans_fit` (``inertia`` per iteration, ...).
        """
        x = flatten_images(images).to(self._device())
        codebook, history = kmeans_fit(x, self.levels, seed, iterations, batch_size)
        self.codebook.copy_(codebook)
        self.fitted.fill_(True)
        return history

    @torch.no_grad()
    def encode(self, images: torch.Tensor, seq: torch.Tensor | None = None,
               batch_size: int | None = None) -> torch.Tensor:
        self._require_fitted()
        x = flatten_images(images).to(self._device())
        idx, _ = nearest_codeword(x, self.codebook, batch_size)
        return idx.unsqueeze(1)

    @torch.no_grad()
    def decode(self, indices: torch.Tensor, seq: torch.Tensor | None = None) -> torch.Tensor:
        self.check_indices(indices)
        self._require_fitted()
        out = self.codebook[indices[:, 0].to(self._device(), torch.int64)]
        return out.clamp(0.0, 1.0).reshape(len(indices), *IMAGE_SHAPE)


# ---------------------------------------------------------------------------------------
# PCA + per-component Lloyd-Max scalar quantizers
# ---------------------------------------------------------------------------------------
def lloyd_max(values: torch.Tensor, levels: int, max_iterations: int = 300,
              tol: float = 1e-10) -> tuple[torch.Tensor, int]:
    """MSE-optimal ``levels`` reconstruction values for the 1-D sample ``values`` (float64)."""
    v = values.double().flatten().contiguous()
    probs = (torch.arange(levels, dtype=torch.float64, device=v.device) + 0.5) / levels
    centers = torch.quantile(v, probs)
    scale = float(v.abs().max()) or 1.0
    it = 0
    for it in range(1, max_iterations + 1):
        thresholds = 0.5 * (centers[1:] + centers[:-1])
        cell = torch.searchsorted(thresholds, v)
        counts = torch.bincount(cell, minlength=levels)
        sums = torch.zeros(levels, dtype=torch.float64, device=v.device).index_add_(0, cell, v)
        new = torch.where(counts > 0, sums / counts.clamp_min(1), centers)
        shift = float((new - centers).abs().max())
        centers = new
        if shift <= tol * scale:
            break
    return centers, it


class PCAScalarCodec(FittedCodec):
    """PCA to ``components`` coefficients, each quantized to ``levels`` Lloyd-Max values.

    Symbol format (dim=components, levels); ``payload_bits(components, levels)`` must equal
    ``bits``. With ``components=None`` it is ``bits / log2(levels)`` (8 bits -> 4 x 4 levels).
    """

    kind = "pca"

    def __init__(self, bits: int, components: int | None = None, levels: int = 4) -> None:
        super().__init__()
        self.bits = _check_bits(bits, 1, 64, "PCAScalarCodec")
        if components is None:
            fmt = format_for_bits(self.bits, levels)
        else:
            fmt = SymbolFormat(dim=components, levels=levels)
            if payload_bits(fmt.dim, fmt.levels) != self.bits:
                hint = ""
                if self.bits % components == 0:
                    hint = f"; for {components} components use levels={1 << (self.bits // components)}"
                raise ValueError(f"PCAScalarCodec: {components} components x {levels} levels take "
                                 f"{payload_bits(fmt.dim, fmt.levels)} bits, not bits={self.bits}{hint}")
        if fmt.dim > PIXELS:
            raise ValueError(f"PCAScalarCodec: at most {PIXELS} components, got {fmt.dim}")
        self.components = fmt.dim
        self.symbol_format = fmt
        self.register_buffer("mean", torch.zeros(PIXELS))
        self.register_buffer("basis", torch.zeros(fmt.dim, PIXELS))  # orthonormal rows
        self.register_buffer("centers", torch.zeros(fmt.dim, fmt.levels))  # sorted per row
        self.register_buffer("variance", torch.zeros(fmt.dim))  # explained variance per component
        self._init_fitted()

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "bits": self.bits, "components": self.components, "levels": self.levels}

    @torch.no_grad()
    def fit(self, images: torch.Tensor, seed: int = 0) -> dict[str, Any]:
        """Mean + top principal directions (eigh of the covariance, float64), then Lloyd-Max.

        ``seed`` is accepted for a uniform interface; the fit is deterministic without it.
        """
        t0 = time.perf_counter()
        x = flatten_images(images).to(self._device()).double()
        if len(x) < 2:
            raise ValueError("PCAScalarCodec.fit needs at least 2 images")
        mean = x.mean(0)
        xc = x - mean
        cov = xc.t() @ xc / (len(x) - 1)
        evals, evecs = torch.linalg.eigh(cov)  # ascending
        order = torch.argsort(evals, descending=True, stable=True)[: self.components]
        basis = evecs[:, order].t().contiguous()  # (k, 784)
        # deterministic sign: the largest-magnitude entry of each direction is positive
        pivot = basis.abs().argmax(1)
        basis *= torch.where(basis.gather(1, pivot[:, None]) < 0, -1.0, 1.0)
        coef = xc @ basis.t()
        centers, iters, mse = [], [], []
        for j in range(self.components):
            c, it = lloyd_max(coef[:, j], self.levels)
            centers.append(c)
            iters.append(it)
            q = c[self._cells(coef[:, j : j + 1], c[None])[:, 0]]
            mse.append(float((coef[:, j] - q).pow(2).mean()))
        self.mean.copy_(mean)
        self.basis.copy_(basis)
        self.centers.copy_(torch.stack(centers))
        self.variance.copy_(evals[order].clamp_min(0.0))
        self.fitted.fill_(True)
        total_var = float(evals.clamp_min(0.0).sum()) or 1.0
        return {"explained_variance": self.variance.tolist(),
                "explained_ratio": float(evals[order].clamp_min(0.0).sum()) / total_var,
                "quantizer_mse": mse, "lloyd_iterations": iters,
                "seconds": time.perf_counter() - t0}

    @staticmethod
    def _cells(coef: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
        """Nearest of the sorted ``centers`` (k, L) for each coefficient (N, k); ties go low."""
        thresholds = 0.5 * (centers[:, 1:] + centers[:, :-1])
        return (coef.unsqueeze(-1) > thresholds.unsqueeze(0)).sum(-1)

    def project(self, images: torch.Tensor) -> torch.Tensor:
        """PCA coefficients (N, components) of the images, before quantization."""
        x = flatten_images(images).to(self._device())
        return (x - self.mean) @ self.basis.t()

    @torch.no_grad()
    def encode(self, images: torch.Tensor, seq: torch.Tensor | None = None) -> torch.Tensor:
        self._require_fitted()
        return self._cells(self.project(images), self.centers).to(torch.int64)

    @torch.no_grad()
    def decode(self, indices: torch.Tensor, seq: torch.Tensor | None = None) -> torch.Tensor:
        self.check_indices(indices)
        self._require_fitted()
        values = self.centers.gather(1, indices.to(self._device(), torch.int64).t()).t()  # (N, k)
        out = self.mean + values @ self.basis
        return out.clamp(0.0, 1.0).reshape(len(indices), *IMAGE_SHAPE)


__all__ = [
    "KMeansVQCodec",
    "PCAScalarCodec",
    "kmeans_fit",
    "nearest_codeword",
    "lloyd_max",
    "flatten_images",
]
