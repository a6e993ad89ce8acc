"""semcom: a semantic-communication simulator.

A digit image is encoded by a learned codec into a quantized bitstream, sent over a
noisy or erasure channel, decoded and classified. The library API lives in the
submodules (``semcom.data``, ``semcom.codecs``, ``semcom.transceiver``, ``semcom.app.runner``);
the ``semcom`` command is a thin layer over them.
"""

__version__ = "0.1.0"
