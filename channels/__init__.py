"""Bitstream channel models for semcom: clean, BSC, BEC, BPSK/AWGN, Gilbert-Elliott, packet loss,
and a coded physical layer (CRC, LDPC/polar/convolutional code, QAM, AWGN/Rayleigh) from Sionna PHY.

Every channel is a small frozen dataclass called as ``channel(bits, rng)``:
``bits`` is a {0,1} integer/bool array whose last axis is one unit's bit
sequence, ``rng`` a ``numpy.random.Generator`` (the only source of
randomness), and the result a :class:`Received` with hard bits and an
erasure mask. All sampling is vectorized over the whole batch.
"""

__version__ = "0.1.0"

from ._base import Channel, Received, check_bits
from ._errors import ChannelParameterError
from ._functions import binary_entropy, q_function
from .awgn import AWGN
from .cascade import Cascade
from .gilbert_elliott import GilbertElliott
from .memoryless import BinaryErasure, BinarySymmetric, Clean
from .packet import PacketErasure
from .phy import CodedLink
from .registry import KINDS, make

__all__ = [
    "AWGN",
    "KINDS",
    "BinaryErasure",
    "BinarySymmetric",
    "Cascade",
    "Channel",
    "ChannelParameterError",
    "Clean",
    "CodedLink",
    "GilbertElliott",
    "PacketErasure",
    "Received",
    "binary_entropy",
    "check_bits",
    "make",
    "q_function",
]
