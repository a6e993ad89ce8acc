"""Exact, vectorized Bernoulli-process samplers.

Each picks its method per call from ``p`` alone, so a given rng state always
yields the same output. Rare events (small ``p``) are generated as success
positions via geometric gaps, which costs O(n p) random draws instead of O(n);
common events compare one uniform per trial, in cache-sized chunks.
"""

from __future__ import annotations

import math

import numpy as np

#: Above this success probability one uniform per trial is cheaper than
#: geometric gaps (measured crossover is about 0.2-0.25 on a 2020s x86 core).
SPARSE_MAX_P = 0.2

#: Trials per uniform chunk; keeps the float64 scratch buffer in L2 cache.
DENSE_CHUNK = 1 << 16


def geometric(rng: np.random.Generator, p: float, size: int, cap: int) -> np.ndarray:
    """Geometric(p) samples on {1, 2, ...}, values above ``cap + 1`` clipped to it.

    Inverts an exponential: floor(E / -log(1-p)) + 1 has exactly
    P(X > k) = (1-p)^k, and numpy's exponential is ~3x faster than its
    geometric. Clipping avoids int64 overflow for tiny p; callers use ``cap``
    equal to the trials left, so a clipped gap already lands past the end.
    """
    if p >= 1.0:
        return np.ones(size, dtype=np.int64)
    if p <= 0.0:
        return np.full(size, cap + 1, dtype=np.int64)
    e = rng.standard_exponential(size)
    with np.errstate(over="ignore"):
        e /= -math.log1p(-p)
    np.minimum(e, cap, out=e)
    g = e.astype(np.int64)
    g += 1
    return g


def success_positions(
    rng: np.random.Generator, n: int, p: float, chunk: int | None = None
) -> np.ndarray:
    """Sorted indices of successes among ``n`` Bernoulli(p) trials (exact).

    Draws gaps in chunks sized to cover ``n`` with overwhelming probability,
    and continues only in the rare case they fall short. ``chunk`` overrides
    the chunk size (used by tests to force the continuation path).
    """
    if n <= 0 or p <= 0.0:
        return np.empty(0, dtype=np.int64)
    pieces = []
    last = -1  # index of the last success found so far
    while True:
        remaining = n - 1 - last
        if chunk is None:
            mean = remaining * min(p, 1.0)
            k = int(mean + 6.0 * math.sqrt(mean) + 16)
        else:
            k = chunk
        pos = np.cumsum(geometric(rng, p, k, remaining))
        pos += last
        if pos[-1] >= n:
            pieces.append(pos[: np.searchsorted(pos, n)])
            break
        pieces.append(pos)
        last = int(pos[-1])
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


def bernoulli_mask(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    """Boolean array of ``n`` i.i.d. Bernoulli(p) draws (exact)."""
    if n <= 0 or p <= 0.0:
        return np.zeros(max(n, 0), dtype=bool)
    if p >= 1.0:
        return np.ones(n, dtype=bool)
    if p <= SPARSE_MAX_P:
        mask = np.zeros(n, dtype=bool)
        mask[success_positions(rng, n, p)] = True
        return mask
    if p >= 1.0 - SPARSE_MAX_P:
        # Sample the rare complement; 1 - p is exact for p >= 0.5 (Sterbenz).
        mask = np.ones(n, dtype=bool)
        mask[success_positions(rng, n, 1.0 - p)] = False
        return mask
    mask = np.empty(n, dtype=bool)
    for start in range(0, n, DENSE_CHUNK):
        stop = min(n, start + DENSE_CHUNK)
        np.less(rng.random(stop - start), p, out=mask[start:stop])
    return mask


def flip_in_place(rng: np.random.Generator, flat: np.ndarray, p: float) -> None:
    """XOR each element of a 1-D uint8 bit array with an independent Bernoulli(p)."""
    n = flat.size
    if n == 0 or p <= 0.0:
        return
    if p <= SPARSE_MAX_P:
        flat[success_positions(rng, n, p)] ^= 1
        return
    if p >= 1.0 - SPARSE_MAX_P:
        flat ^= 1
        flat[success_positions(rng, n, 1.0 - p)] ^= 1
        return
    for start in range(0, n, DENSE_CHUNK):
        stop = min(n, start + DENSE_CHUNK)
        seg = flat[start:stop]
        np.bitwise_xor(seg, rng.random(stop - start) < p, out=seg)
