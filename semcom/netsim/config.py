"""Link parameters for :func:`semcom.netsim.simulate_link`, validated on construction."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from .crc import CRC_POLYS

__all__ = ["ARQ_MODES", "ARRIVALS", "CRC_FAILURE_POLICIES", "LinkConfig", "packet_phy"]

ARRIVALS = ("periodic", "poisson")
ARQ_MODES = ("none", "stop_and_wait", "selective_repeat")
CRC_FAILURE_POLICIES = ("drop", "deliver")


def packet_phy(channel: object):
    """``channel`` if it is a packet physical layer, else None.

    A packet PHY (e.g. ``channels.CodedLink``) has two methods: ``channel_uses(packet_bits)``,
    the complex channel symbols a packet of that many bits occupies, and
    ``transmit_packets(bits, rng)``, which sends rows of any length (one row = one packet)
    and returns ``.bits``/``.erased`` of their shape. Anything else is a binary channel,
    timed by ``bit_rate``.
    """
    ok = callable(getattr(channel, "channel_uses", None)) and callable(getattr(channel, "transmit_packets", None))
    return channel if ok else None


def _shown(value: object) -> str:
    if isinstance(value, (bool, np.bool_)):
        return f"{bool(value)!r} (bool)"
    if isinstance(value, numbers.Real):
        return repr(value)
    return f"{value!r} ({type(value).__name__})"


def _fail(name: str, expected: str, value: object) -> ValueError:
    return ValueError(f"LinkConfig.{name} must be {expected}, got {_shown(value)}")


def _real(name: str, value: object, expected: str, ok) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise _fail(name, expected, value)
    x = float(value)
    if math.isnan(x) or not ok(x):
        raise _fail(name, expected, value)
    return x


def _int(name: str, value: object, lo: int, expected: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise _fail(name, expected, value)
    if int(value) < lo:
        raise _fail(name, expected, value)
    return int(value)


def _choice(name: str, value: object, choices) -> str:
    if not isinstance(value, str) or value not in choices:
        raise _fail(name, "one of " + ", ".join(repr(c) for c in choices), value)
    return value


@dataclass(frozen=True)
class LinkConfig:
    """One point-to-point link: source, transmitter queue, channel, ARQ, receiver deadline.

    Times are in seconds, rates in bits/s, symbols/s or digits/s. Packet layout is
    ``header_bits`` + ``digits_per_packet * n_bits`` payload bits + the CRC
    (``crc_width`` bits), and the channel acts on all of them (see
    :func:`simulate_link` for the full semantics).

    - ``bit_rate`` (> 0): link rate; a packet of ``L`` bits occupies the link ``L / bit_rate``
      s over a binary channel.
    - ``symbol_rate`` (> 0, finite): complex channel symbols per second over a packet PHY
      (a channel with ``channel_uses``, e.g. ``channels.CodedLink``): a packet of ``L`` bits
      occupies the link ``channel.channel_uses(L) / symbol_rate`` s (its codewords x symbols
      per codeword); ``bit_rate`` is then unused.
    - ``propagation_delay`` (>= 0): one-way delay, data and feedback alike.
    - ``header_bits`` (int >= 0): per-packet header, sent through the channel and
      covered by the CRC (carries the packet sequence number, modulo 2**header_bits).
    - ``crc``: ``"none"``, ``"crc8"``, ``"crc16"`` or ``"crc32"`` (see :mod:`semcom.netsim.crc`).
    - ``digits_per_packet`` (int >= 1): consecutive digits per packet; a digit never
      spans packets, and the last packet may hold fewer digits.
    - ``arrival``: ``"periodic"`` (digit ``i`` generated at ``i / arrival_rate``) or
      ``"poisson"`` (exponential gaps drawn from the simulation rng; the first digit
      arrives after one gap).
    - ``arrival_rate`` (> 0, finite): digits generated per second.
    - ``arq``: ``"none"``, ``"stop_and_wait"`` or ``"selective_repeat"``.
    - ``max_retransmissions`` (int >= 0): retries after the first attempt (ARQ only).
    - ``window`` (int >= 1): selective repeat, unacknowledged packets allowed at once
      (stop-and-wait behaves as a window of 1 whatever this says).
    - ``ack_delay`` (>= 0): receiver processing before an ACK/NAK is sent.
    - ``timeout`` (None or > 0): retransmission timer, started when a transmission
      *begins*; None means one round trip for a full-size packet,
      ``serialization + 2 * propagation_delay + ack_delay`` (serialization over the
      channel in use: bit rate or symbol rate).
    - ``deadline`` (> 0, may be ``math.inf``): time after a digit's generation by
      which its packet must have arrived.
    - ``on_crc_failure``: ``"drop"`` (a packet failing its CRC is erased) or
      ``"deliver"`` (its corrupted bits are handed on, unverified).
    """

    bit_rate: float = field(default=1e6, metadata={"doc": 'link rate in bit/s (> 0): over a binary channel a packet of L bits occupies the link L / bit_rate s', "axis": 'link rate (bit/s)'})
    symbol_rate: float = field(default=1e6, metadata={"doc": 'complex channel symbols per second (> 0), over a coded channel (kind = "coded"): a packet occupies the link (codewords x symbols per codeword) / symbol_rate s', "axis": 'symbol rate (symbols/s)'})
    propagation_delay: float = field(default=1e-3, metadata={"doc": 'one-way delay in s (>= 0), data and feedback alike', "axis": 'propagation delay (s)'})
    header_bits: int = field(default=32, metadata={"doc": 'per-packet header bits (>= 0), sent through the channel and covered by the CRC', "axis": 'header (bits)'})
    crc: str = field(default="crc16", metadata={"doc": '"none", "crc8", "crc16" or "crc32"', "axis": 'CRC'})
    digits_per_packet: int = field(default=1, metadata={"doc": 'consecutive digits per packet (>= 1)', "axis": 'digits per packet'})
    arrival: str = field(default="periodic", metadata={"doc": '"periodic" (digit i at i / arrival_rate) or "poisson"', "axis": 'arrival process'})
    arrival_rate: float = field(default=1000.0, metadata={"doc": 'digits generated per second (> 0)', "axis": 'offered load (digits/s)'})
    arq: str = field(default="none", metadata={"doc": '"none", "stop_and_wait" or "selective_repeat"', "axis": 'ARQ'})
    max_retransmissions: int = field(default=3, metadata={"doc": 'retries after the first attempt (ARQ only, >= 0)', "axis": 'max. retransmissions'})
    window: int = field(default=8, metadata={"doc": 'selective repeat: unacknowledged packets allowed at once (>= 1)', "axis": 'window (packets)'})
    ack_delay: float = field(default=0.0, metadata={"doc": 'receiver processing before an ACK/NAK is sent, s (>= 0)', "axis": 'ACK delay (s)'})
    timeout: float | None = field(default=None, metadata={"doc": 'retransmission timer in s, started when a transmission begins (default: one round trip)', "axis": 'timeout (s)'})
    deadline: float = field(default=0.05, metadata={"doc": "time after a digit's generation by which its packet must arrive, s (> 0, may be inf)", "axis": 'deadline (s)'})
    on_crc_failure: str = field(default="drop", metadata={"doc": '"drop" (a packet failing its CRC is erased) or "deliver" (its bits are handed on)', "axis": 'on CRC failure'})

    def __post_init__(self) -> None:
        fin = math.isfinite
        s = object.__setattr__
        s(self, "bit_rate", _real("bit_rate", self.bit_rate, "a finite number > 0 (bits/s)",
                                  lambda x: fin(x) and x > 0))
        s(self, "symbol_rate", _real("symbol_rate", self.symbol_rate, "a finite number > 0 (symbols/s)",
                                     lambda x: fin(x) and x > 0))
        s(self, "propagation_delay", _real("propagation_delay", self.propagation_delay,
                                           "a finite number >= 0 (seconds)",
                                           lambda x: fin(x) and x >= 0))
        s(self, "header_bits", _int("header_bits", self.header_bits, 0, "an integer >= 0"))
        _choice("crc", self.crc, tuple(CRC_POLYS))
        s(self, "digits_per_packet",
          _int("digits_per_packet", self.digits_per_packet, 1, "an integer >= 1"))
        _choice("arrival", self.arrival, ARRIVALS)
        s(self, "arrival_rate", _real("arrival_rate", self.arrival_rate,
                                      "a finite number > 0 (digits/s)",
                                      lambda x: fin(x) and x > 0))
        _choice("arq", self.arq, ARQ_MODES)
        s(self, "max_retransmissions",
          _int("max_retransmissions", self.max_retransmissions, 0, "an integer >= 0"))
        s(self, "window", _int("window", self.window, 1, "an integer >= 1"))
        s(self, "ack_delay", _real("ack_delay", self.ack_delay, "a finite number >= 0 (seconds)",
                                   lambda x: fin(x) and x >= 0))
        if self.timeout is not None:
            s(self, "timeout", _real("timeout", self.timeout,
                                     "None or a finite number > 0 (seconds)",
                                     lambda x: fin(x) and x > 0))
        s(self, "deadline", _real("deadline", self.deadline, "a number > 0 (seconds, inf allowed)",
                                  lambda x: x > 0))
        _choice("on_crc_failure", self.on_crc_failure, CRC_FAILURE_POLICIES)

    # -- derived quantities -------------------------------------------------

    @property
    def crc_width(self) -> int:
        """CRC bits appended to each packet."""
        return CRC_POLYS[self.crc].width

    @property
    def attempts_per_packet(self) -> int:
        """Most transmissions one packet can get: 1 without ARQ, else 1 + max_retransmissions."""
        return 1 if self.arq == "none" else 1 + self.max_retransmissions

    @property
    def effective_window(self) -> int:
        """Unacknowledged packets allowed at once (1 for stop-and-wait)."""
        return 1 if self.arq == "stop_and_wait" else self.window

    def packet_bits(self, n_bits: int, digits: int | None = None) -> int:
        """Bits on the wire for a packet of ``digits`` digits (default: a full packet)."""
        d = self.digits_per_packet if digits is None else digits
        return self.header_bits + d * n_bits + self.crc_width

    def serialization_time(self, n_bits: int, digits: int | None = None, channel: object = None) -> float:
        """Seconds the link is busy sending one packet (default: a full packet).

        ``packet_bits / bit_rate`` over a binary channel; ``channel.channel_uses(packet_bits) /
        symbol_rate`` over a packet PHY (see :func:`packet_phy`).
        """
        bits = self.packet_bits(n_bits, digits)
        phy = packet_phy(channel)
        if phy is None:
            return bits / self.bit_rate
        return phy.channel_uses(bits) / self.symbol_rate

    def round_trip(self, n_bits: int, digits: int | None = None, channel: object = None) -> float:
        """From the start of a transmission to the arrival of its ACK/NAK."""
        return self.serialization_time(n_bits, digits, channel) + (
            2.0 * self.propagation_delay + self.ack_delay
        )

    def effective_timeout(self, n_bits: int, channel: object = None) -> float:
        """The retransmission timer: ``timeout`` or one full-packet round trip (over ``channel``)."""
        return self.round_trip(n_bits, channel=channel) if self.timeout is None else self.timeout
