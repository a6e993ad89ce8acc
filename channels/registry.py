"""Build channels from config: ``make("bsc", p=0.01)``."""

from __future__ import annotations

import dataclasses
from typing import Any

from ._base import Channel
from ._errors import ChannelParameterError
from .awgn import AWGN
from .gilbert_elliott import GilbertElliott
from .memoryless import BinaryErasure, BinarySymmetric, Clean
from .packet import PacketErasure
from .phy import CodedLink

__all__ = ["KINDS", "make"]

#: Config name -> channel class. Cascade is left out: it takes channels, not numbers.
KINDS: dict[str, type[Channel]] = {
    cls.kind: cls
    for cls in (Clean, BinarySymmetric, BinaryErasure, AWGN, GilbertElliott, PacketErasure, CodedLink)
}


def make(kind: str, **params: Any) -> Channel:
    """Construct a channel by kind, reporting unknown/missing parameters by name.

    Checking names here (rather than letting ``__init__`` raise TypeError)
    gives config files the same precise ChannelParameterError as bad values.
    """
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ChannelParameterError(
            f"unknown channel kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}"
        )
    fields = dataclasses.fields(cls)
    accepted = [f.name for f in fields]
    unknown = [name for name in params if name not in accepted]
    if unknown:
        raise ChannelParameterError(
            f"{kind}: unknown parameter {unknown[0]!r}; "
            f"accepted parameters: {', '.join(accepted) or '(none)'}"
        )
    missing = [
        f.name
        for f in fields
        if f.name not in params
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ChannelParameterError(f"{kind}: missing required parameter {missing[0]!r}")
    return cls(**params)
