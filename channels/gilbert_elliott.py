"""Gilbert-Elliott: a two-state Markov channel for bursty errors."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from . import _params
from ._base import Channel, Received, no_erasures
from ._errors import ChannelParameterError
from ._sampling import bernoulli_mask, flip_in_place, geometric

__all__ = ["GilbertElliott"]


@dataclass(frozen=True)
class GilbertElliott(Channel):
    """Bits flip with probability ``error_good`` or ``error_bad`` depending on a hidden state.

    The state is a Markov chain stepping once per bit over the flattened
    C-order stream (rows back to back, as on a serial link), so a burst can
    straddle row boundaries. Each call starts in the stationary distribution:
    calls are independent snapshots of a link in steady state. Defaults give
    the classic Gilbert model (clean good state, coin-flip bad state).
    """

    p_good_to_bad: float = field(metadata={"doc": "per-bit probability of moving from the good to the bad state", "axis": "P(good -> bad)"})
    p_bad_to_good: float = field(metadata={"doc": "per-bit probability of moving from the bad to the good state (1 / mean burst length)", "axis": "P(bad -> good)"})
    error_good: float = field(default=0.0, metadata={"doc": "bit-flip probability in the good state", "axis": "error rate, good state"})
    error_bad: float = field(default=0.5, metadata={"doc": "bit-flip probability in the bad state", "axis": "error rate, bad state"})

    kind: ClassVar[str] = "gilbert_elliott"
    label: ClassVar[str] = "GilbertElliott"

    def __post_init__(self) -> None:
        for name in ("p_good_to_bad", "p_bad_to_good", "error_good", "error_bad"):
            object.__setattr__(self, name, _params.probability(self.kind, name, getattr(self, name)))
        if self.p_good_to_bad + self.p_bad_to_good <= 0.0:
            raise ChannelParameterError(
                f"{self.kind}: p_good_to_bad + p_bad_to_good must be > 0 "
                f"(else the state never changes and has no stationary law), "
                f"got {self.p_good_to_bad!r} + {self.p_bad_to_good!r}"
            )

    @property
    def stationary_bad(self) -> float:
        """Long-run fraction of bits sent in the bad state."""
        return self.p_good_to_bad / (self.p_good_to_bad + self.p_bad_to_good)

    @property
    def mean_burst_length(self) -> float:
        """Expected number of consecutive bits spent in the bad state."""
        return math.inf if self.p_bad_to_good == 0.0 else 1.0 / self.p_bad_to_good

    def bit_error_rate(self) -> float:
        pi_b = self.stationary_bad
        return (1.0 - pi_b) * self.error_good + pi_b * self.error_bad

    def erasure_rate(self) -> float:
        return 0.0

    def sample_states(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Bad-state indicator for ``n`` consecutive bits, starting in steady state.

        Sojourns in each state are geometric, so the chain is built from
        alternating geometric run lengths (one draw per run, not per bit) and
        expanded with ``np.repeat``. The first run needs no correction: by
        memorylessness the residual sojourn is geometric too.
        """
        if n <= 0:
            return np.zeros(0, dtype=bool)
        start_bad = bool(rng.random() < self.stationary_bad)
        leave = (self.p_good_to_bad, self.p_bad_to_good)  # indexed by state
        first, second = leave[start_bad], leave[not start_bad]
        cycle = sum(math.inf if q == 0.0 else 1.0 / q for q in leave)
        runs = []
        remaining = n
        while remaining > 0:
            mean_pairs = remaining / cycle
            k = int(mean_pairs + 6.0 * math.sqrt(mean_pairs) + 8)
            pairs = np.empty(2 * k, dtype=np.int64)
            pairs[0::2] = geometric(rng, first, k, remaining)
            pairs[1::2] = geometric(rng, second, k, remaining)
            ends = np.cumsum(pairs)
            if ends[-1] >= remaining:
                last = int(np.searchsorted(ends, remaining))
                pairs = pairs[: last + 1]
                pairs[last] -= ends[last] - remaining
                runs.append(pairs)
                break
            # an even number of runs was appended, so the next run is `first` again
            runs.append(pairs)
            remaining -= int(ends[-1])
        lengths = runs[0] if len(runs) == 1 else np.concatenate(runs)
        state = np.zeros(lengths.size, dtype=bool)
        state[1::2] = True
        if start_bad:
            state = ~state
        return np.repeat(state, lengths)

    def _transmit(self, out: np.ndarray, rng: np.random.Generator) -> Received:
        flat = out.reshape(-1)
        if self.error_good == self.error_bad:
            # The state cannot matter; skip the chain (same law, less work).
            flip_in_place(rng, flat, self.error_good)
            return no_erasures(out)
        bad = self.sample_states(flat.size, rng)
        flips_good = bernoulli_mask(rng, flat.size, self.error_good)
        flips_bad = bernoulli_mask(rng, flat.size, self.error_bad)
        flips = np.where(bad, flips_bad, flips_good)
        np.bitwise_xor(flat, flips, out=flat)
        return no_erasures(out)
