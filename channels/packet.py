"""Packet erasures: what a lossy network does to bits above the PHY."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from . import _params
from ._base import Channel, Received
from ._sampling import bernoulli_mask
from .memoryless import erase

__all__ = ["PacketErasure"]


@dataclass(frozen=True)
class PacketErasure(Channel):
    """Packets are lost independently with probability ``loss``; a lost packet erases all its bits.

    With ``packet_bits=None`` each row (last axis) is one packet. With an int
    ``k`` each row is cut into ceil(n / k) packets of ``k`` bits, the last one
    possibly shorter; packets never span rows, as a transport layer would
    frame each unit separately.
    """

    loss: float = field(metadata={"doc": "packet loss probability: a lost packet's bits are all erased", "axis": "packet loss probability"})
    packet_bits: int | None = field(default=None, metadata={"doc": "bits per packet (default: one row, i.e. one digit, per packet)", "axis": "packet size (bits)"})

    kind: ClassVar[str] = "packet_erasure"
    label: ClassVar[str] = "PacketErasure"

    def __post_init__(self) -> None:
        object.__setattr__(self, "loss", _params.probability(self.kind, "loss", self.loss))
        object.__setattr__(
            self,
            "packet_bits",
            _params.positive_int_or_none(self.kind, "packet_bits", self.packet_bits),
        )

    def packets_per_row(self, n_bits: int) -> int:
        return 1 if self.packet_bits is None else math.ceil(n_bits / self.packet_bits)

    def _transmit(self, out: np.ndarray, rng: np.random.Generator) -> Received:
        lead, n = out.shape[:-1], out.shape[-1]
        n_packets = self.packets_per_row(n)
        lost = bernoulli_mask(rng, math.prod(lead) * n_packets, self.loss)
        lost = lost.reshape(*lead, n_packets)
        if self.packet_bits is None:
            erased = np.broadcast_to(lost, out.shape)
        else:
            erased = np.repeat(lost, self.packet_bits, axis=-1)[..., :n]
        return erase(out, np.ascontiguousarray(erased))

    def bit_error_rate(self) -> float:
        return 0.0

    def erasure_rate(self) -> float:
        return self.loss

    def capacity(self) -> float:
        return 1.0 - self.loss
