"""Codecs: images -> integer symbols -> images.

Every codec implements :class:`Codec`; the chain (bitstream, channel, receiver,
metrics) only ever sees its :class:`SymbolFormat` and its ``encode``/``decode``.
"""

from semcom.codecs.base import Codec, SymbolFormat, format_for_bits
from semcom.codecs.quantizer import UniformQuantizer
from semcom.codecs.learned import LearnedCodec, LearnedCodecConfig

__all__ = [
    "Codec",
    "SymbolFormat",
    "format_for_bits",
    "UniformQuantizer",
    "LearnedCodec",
    "LearnedCodecConfig",
]
