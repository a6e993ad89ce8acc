"""Parameter validation with one-line messages: kind, name, value, expectation.

Kept separate so every channel reports bad configs the same way.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._errors import ChannelParameterError


def _shown(value: object) -> str:
    """Render a received value the way a user typed it, plus its type if odd."""
    if isinstance(value, (bool, np.bool_)):
        return f"{bool(value)!r} (bool)"
    if isinstance(value, numbers.Integral):
        return repr(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    return f"{value!r} ({type(value).__name__})"


def fail(kind: str, name: str, expected: str, value: object) -> ChannelParameterError:
    return ChannelParameterError(f"{kind}: {name} must be {expected}, got {_shown(value)}")


def real(kind: str, name: str, value: object) -> float:
    """Accept Python/numpy reals; refuse bools and strings, which coerce silently."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise fail(kind, name, "a real number", value)
    return float(value)


def in_range(kind: str, name: str, value: object, lo: float, hi: float, expected: str) -> float:
    """Closed-interval check; NaN fails the comparison and is reported as given."""
    x = real(kind, name, value)
    if not lo <= x <= hi:
        raise fail(kind, name, expected, value)
    return x


def probability(kind: str, name: str, value: object, hi: float = 1.0) -> float:
    if hi == 1.0:
        return in_range(kind, name, value, 0.0, 1.0, "in [0, 1]")
    return in_range(kind, name, value, 0.0, hi, f"a probability in [0, {hi:g}]")


def finite(kind: str, name: str, value: object) -> float:
    x = real(kind, name, value)
    if not math.isfinite(x):
        raise fail(kind, name, "a finite number", value)
    return x


def positive_int_or_none(kind: str, name: str, value: object) -> int | None:
    if value is None:
        return None
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Integral)
        or int(value) <= 0
    ):
        raise fail(kind, name, "a positive int or None", value)
    return int(value)
