"""Closed-form helpers used for expected error rates and capacities."""

from __future__ import annotations

import math

import numpy as np

try:  # scipy's erfc is a ufunc; fall back to math.erfc so numpy alone suffices
    from scipy.special import erfc as _erfc
except ImportError:  # pragma: no cover - scipy is installed in the dev env
    _erfc = np.vectorize(math.erfc, otypes=[float])

__all__ = ["q_function", "binary_entropy"]


def q_function(x):
    """Gaussian tail P(N(0,1) > x); BPSK's hard-decision error rate is Q(sqrt(2 Es/N0)).

    Uses erfc rather than 1 - Phi(x) so tiny tails keep full relative precision.
    Returns a float for scalar input, an array otherwise.
    """
    y = 0.5 * _erfc(np.asarray(x, dtype=np.float64) / math.sqrt(2.0))
    return float(y) if np.ndim(y) == 0 else y


def binary_entropy(p: float) -> float:
    """h(p) in bits, with h(0) = h(1) = 0 by continuity."""
    p = float(p)
    if p <= 0.0 or p >= 1.0:
        return 0.0
    return -p * math.log2(p) - (1.0 - p) * math.log2(1.0 - p)
