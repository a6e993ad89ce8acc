"""Discrete-event (simpy) model of a semantic link: latency and delivery under loss and ARQ.

Numerics are batched with numpy (packet building, one channel call for all packets x
all possible attempts, vectorized CRCs); simpy only decides what happens when
(arrivals, serialization, propagation, feedback, retransmissions, deadlines).

>>> cfg = LinkConfig(arq="selective_repeat", crc="crc16")          # doctest: +SKIP
>>> out = simulate_link(bits, channels.make("bsc", p=0.01), cfg, rng)  # doctest: +SKIP
>>> out.delivery_ratio(), out.mean_latency()                        # doctest: +SKIP
"""

from .config import ARQ_MODES, ARRIVALS, CRC_FAILURE_POLICIES, LinkConfig, packet_phy
from .crc import CRC_POLYS, CrcSpec, bytes_to_bits, crc_bits, crc_check, crc_value, crc_width
from .link import generation_times, simulate_link
from .outcome import LinkOutcome

__all__ = [
    "ARQ_MODES",
    "ARRIVALS",
    "CRC_FAILURE_POLICIES",
    "CRC_POLYS",
    "CrcSpec",
    "LinkConfig",
    "LinkOutcome",
    "bytes_to_bits",
    "crc_bits",
    "crc_check",
    "crc_value",
    "crc_width",
    "generation_times",
    "packet_phy",
    "simulate_link",
]
