"""Codecs: images -> integer symbols -> images.

Every codec implements :class:`Codec`; the chain (bitstream, channel, receiver,
metrics) only ever sees its :class:`SymbolFormat` and its ``encode``/``decode``.
Names are loaded on first use, so ``semcom.codecs.symbols`` imports no torch.
"""

from importlib import import_module

_EXPORTS = {
    "Codec": "semcom.codecs.base",
    "SymbolFormat": "semcom.codecs.symbols",
    "format_for_bits": "semcom.codecs.symbols",
    "UniformQuantizer": "semcom.codecs.quantizer",
    "SharedDither": "semcom.codecs.quantizer",
    "LearnedCodec": "semcom.codecs.learned",
    "LearnedCodecConfig": "semcom.codecs.learned",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'semcom.codecs' has no attribute {name!r}")
