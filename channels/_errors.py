"""Exception types shared by every channel."""

from __future__ import annotations

__all__ = ["ChannelParameterError"]


class ChannelParameterError(ValueError):
    """A channel was configured with an invalid parameter.

    Subclasses ``ValueError`` so generic configuration code can catch it,
    while callers that want to tell bad configs apart from bad data can.
    """
