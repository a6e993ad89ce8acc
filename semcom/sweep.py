"""The vocabulary of a sweep, as plain values (no torch): channel settings, link settings, points.

A sweep point is (codec, channel setting, link setting, seed). Each point draws its
randomness from its own seed (:func:`point_seed`), so results do not depend on the order
points run in: what makes interrupted sweeps resumable and parallel ones reproducible.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

import numpy as np

import channels


#: short names of channel parameters in labels ("BSC p=0.01", "AWGN Eb/N0=4 dB")
_SHORT = {"epsilon": "ε", "ebn0_db": "Eb/N0", "code_rate": "R", "p_good_to_bad": "p_GB", "p_bad_to_good": "p_BG",
          "error_good": "e_G", "error_bad": "e_B", "packet_bits": "bits/packet", "snr_db": "SNR"}
_UNITS = {"ebn0_db": " dB", "snr_db": " dB"}
_KIND_NAMES = {"clean": "clean", "bsc": "BSC", "bec": "BEC", "awgn": "AWGN", "gilbert_elliott": "GE",
               "packet_erasure": "packet loss", "coded": "coded"}


def channel_label(kind: str, params: dict[str, Any]) -> str:
    """A short, readable label of a channel setting: what tables, legends and run folders say."""
    name = _KIND_NAMES.get(kind, kind)
    shown = [f"{_SHORT.get(k, k)}={v:g}{_UNITS.get(k, '')}" if isinstance(v, (int, float)) and not isinstance(v, bool)
             else f"{_SHORT.get(k, k)}={v}" for k, v in params.items() if v is not None]
    return f"{name} {', '.join(shown)}" if shown else name


def parameter_axis_label(kind: str, param: str) -> str:
    """The words and unit for an axis that sweeps ``param`` of channel ``kind`` (from its declaration)."""
    cls = channels.KINDS.get(kind)
    if cls is not None:
        for f in fields(cls):
            if f.name == param and "axis" in f.metadata:
                return f"{_KIND_NAMES.get(kind, kind)}: {f.metadata['axis']}"
    return f"{kind}: {param}"


@dataclass(frozen=True)
class ChannelPoint:
    """One channel setting of a sweep, e.g. ``bsc`` with ``p = 0.01``."""

    kind: str
    params: dict[str, Any]
    label: str
    instance: channels.Channel | None = field(default=None, compare=False, repr=False)
    axis: str | None = None  # the parameter its sweep varies (the x of its figures); default the first
    group: str | None = None  # the settings sharing a figure panel: the label without the axis parameter

    @property
    def axis_param(self) -> str:
        return self.axis if self.axis is not None else next(iter(self.params), "")

    @property
    def axis_label(self) -> str:
        """The x-axis words of this setting's sweep, as the channel itself names them
        (a coded link's SNR is Es/N0 or Eb/N0); '' for a setting with no parameter."""
        param = self.axis_param
        if not param:
            return ""
        channel = self.make()
        words = channel.axis_label(param) if hasattr(channel, "axis_label") else None
        return f"{_KIND_NAMES.get(self.kind, self.kind)}: {words}" if words else parameter_axis_label(self.kind, param)

    @classmethod
    def of(cls, channel: channels.Channel) -> "ChannelPoint":
        """The setting of a channel object (any :class:`channels.Channel`, a cascade too)."""
        params = {f.name: getattr(channel, f.name) for f in fields(channel)} if is_dataclass(channel) else {}
        kind = getattr(channel, "kind", type(channel).__name__)
        label = channel_label(kind, params) if kind in channels.KINDS else channel.describe()
        return cls(kind, params, label, channel)

    def make(self) -> channels.Channel:
        return self.instance if self.instance is not None else channels.make(self.kind, **self.params)


@dataclass(frozen=True)
class LinkPoint:
    """One setting of the packet link (simpy model), e.g. selective repeat at 1 Mbit/s."""

    params: dict[str, Any]
    label: str

    def config(self):
        from semcom.netsim import LinkConfig

        return LinkConfig(**self.params)


BITSTREAM_CODINGS = ("fixed", "fixed_packets", "entropy")


@dataclass(frozen=True)
class BitstreamPoint:
    """How symbols become bits: ``fixed`` (dim x log2 L bits per digit, no framing),
    ``fixed_packets`` (the same bits, ``group`` digits per CRC-checked packet) or ``entropy``
    (range-coded groups of digits in CRC-checked packets; see semcom.entropy)."""

    coding: str = "fixed"
    model: str = "factorized"
    group: int = 32
    length_bits: int = 8
    crc: str = "crc16"
    on_crc_failure: str = "drop"

    def __post_init__(self) -> None:
        from semcom.entropy import MODELS

        if self.coding not in BITSTREAM_CODINGS:
            raise ValueError(f"coding must be one of {BITSTREAM_CODINGS}, got {self.coding!r}")
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}")
        if not isinstance(self.group, int) or self.group < 1:
            raise ValueError(f"group must be an integer >= 1 (digits per packet), got {self.group!r}")
        if not isinstance(self.length_bits, int) or not 1 <= self.length_bits <= 32:
            raise ValueError(f"length_bits must be an integer in [1, 32], got {self.length_bits!r}")
        if self.crc not in ("none", "crc8", "crc16", "crc32"):
            raise ValueError(f"crc must be 'none', 'crc8', 'crc16' or 'crc32', got {self.crc!r}")
        if self.on_crc_failure not in ("drop", "decode"):
            raise ValueError(f"on_crc_failure must be 'drop' or 'decode', got {self.on_crc_failure!r}")

    @property
    def label(self) -> str:
        if self.coding == "fixed":
            return "fixed-length"
        extra = "" if self.on_crc_failure == "drop" else ", decode on CRC failure"
        if self.coding == "fixed_packets":
            return f"fixed-length ({self.group} digits/packet{extra})"
        return f"entropy ({self.model}, {self.group} digits/packet{extra})"


def point_seed(seed: int, *labels: str) -> np.random.SeedSequence:
    """A seed for one sweep point that does not depend on the order points run in."""
    return np.random.SeedSequence([seed, *(zlib.crc32(s.encode()) for s in labels)])


@dataclass(frozen=True)
class SweepPoint:
    codec: str
    channel: ChannelPoint
    seed: int
    link: LinkPoint | None = None
    bitstream: BitstreamPoint | None = None  # None: fixed-length

    @property
    def setting(self) -> str:
        """Channel (and link, and bitstream) label, as shown in tables and plots."""
        parts = [self.channel.label] + ([self.link.label] if self.link is not None else [])
        if self.bitstream is not None and self.bitstream.coding != "fixed":
            parts.append(self.bitstream.label)
        return " ".join(parts)

    @property
    def point_id(self) -> str:
        return f"{self.codec}|{self.setting}|{self.seed}"


def sweep_points(codecs: list[str], channel_points: list[ChannelPoint], seeds: list[int],
                 links: list[LinkPoint | None] | None = None,
                 bitstreams: list[BitstreamPoint | None] | None = None) -> list[SweepPoint]:
    """The product codecs x bitstreams x channels x links x seeds, in the canonical order of the results."""
    return [SweepPoint(c, ch, s, lk, bs) for c in codecs for bs in (bitstreams or [None]) for ch in channel_points
            for lk in (links or [None]) for s in seeds]


