"""What the receiver ends up with, per digit, after a link simulation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LinkOutcome"]


@dataclass(frozen=True)
class LinkOutcome:
    """Per-digit results of :func:`semcom.netsim.simulate_link` (arrays of length N).

    - ``bits`` (N, n_bits) uint8: what the receiver hands to the decoder at each
      digit's deadline; 0 wherever ``erased``.
    - ``erased`` (N, n_bits) bool: bits the receiver does not have by the deadline.
      A digit's bits travel in one packet, so a row is all True or all False.
    - ``delivered`` (N,) bool: the digit arrived verified (CRC passed, or no CRC and
      no erasure) by its deadline.
    - ``latency`` (N,) float: generation -> arrival of the accepted copy of the
      digit's packet (np.inf if none); may exceed the deadline.
    - ``attempts`` (N,) int: transmissions of the digit's packet (0 if it was
      dropped before its first transmission because its deadline had passed).
    - ``undetected_errors`` (N,) bool: the digit was delivered (taken as correct)
      but its bits differ from the sent ones.
    - ``generated`` (N,) float: generation time of each digit.
    - ``duration`` float: simulated time, from 0 to the later of the last
      generation and the last packet arrival at the receiver.
    """

    bits: np.ndarray
    erased: np.ndarray
    delivered: np.ndarray
    latency: np.ndarray
    attempts: np.ndarray
    undetected_errors: np.ndarray
    generated: np.ndarray
    duration: float

    def __post_init__(self) -> None:
        n = self.delivered.shape[0]
        if self.bits.shape != self.erased.shape or self.bits.shape[:1] != (n,):
            raise ValueError(
                f"LinkOutcome: bits {self.bits.shape} and erased {self.erased.shape} "
                f"must both be ({n}, n_bits)"
            )
        for name in ("latency", "attempts", "undetected_errors", "generated"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"LinkOutcome: {name} must have shape ({n},)")

    @property
    def n_digits(self) -> int:
        return int(self.delivered.shape[0])

    @property
    def n_bits(self) -> int:
        return int(self.bits.shape[1])

    @property
    def unverified(self) -> np.ndarray:
        """Digits handed over without a passing CRC (``on_crc_failure="deliver"``)."""
        return ~self.delivered & ~self.erased.any(axis=1)

    def delivery_ratio(self) -> float:
        """Fraction of digits delivered verified by their deadline (nan for N == 0)."""
        return float(self.delivered.mean()) if self.n_digits else float("nan")

    def mean_latency(self) -> float:
        """Mean latency over delivered digits (nan if none was delivered)."""
        lat = self.latency[self.delivered]
        return float(lat.mean()) if lat.size else float("nan")

    def latency_quantiles(self, qs=(0.5, 0.95, 0.99)) -> np.ndarray:
        """Latency quantiles over delivered digits (nan if none was delivered).

        ``qs`` is a float or a sequence of floats in [0, 1]; the result has its shape.
        """
        q = np.asarray(qs, dtype=float)
        lat = self.latency[self.delivered]
        if not lat.size:
            return np.full(q.shape, np.nan)
        return np.quantile(lat, q)

    def throughput_bps(self) -> float:
        """Delivered payload bits per second of simulated time (0 if no time passed)."""
        if self.duration <= 0:
            return 0.0
        return float(np.count_nonzero(self.delivered)) * self.n_bits / self.duration

    def to_row(self) -> dict[str, float | int]:
        """Scalar summary, one metrics-CSV row (no config fields: add those yourself)."""
        n = self.n_digits
        p50, p95, p99 = self.latency_quantiles((0.5, 0.95, 0.99))
        mean = (lambda a: float(a.mean()) if n else float("nan"))
        return {
            "n_digits": n,
            "delivery_ratio": self.delivery_ratio(),
            "erased_bit_ratio": float(self.erased.mean()) if self.erased.size else float("nan"),
            "unverified_ratio": mean(self.unverified),
            "undetected_error_ratio": mean(self.undetected_errors),
            "mean_attempts": mean(self.attempts),
            "mean_latency_s": self.mean_latency(),
            "latency_p50_s": float(p50),
            "latency_p95_s": float(p95),
            "latency_p99_s": float(p99),
            "throughput_bps": self.throughput_bps(),
            "duration_s": float(self.duration),
        }
