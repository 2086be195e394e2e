"""Named errors raised by the SFU; the signalling layer maps them to HTTP/socket errors."""

from __future__ import annotations

__all__ = [
    "InvalidAnswer", "InvalidOffer", "NoCandidates", "SfuClosedError", "SfuError", "UnknownTrack", "UnsupportedCodec",
]


class SfuError(Exception):
    """Base class of every error the SFU raises on purpose."""


class InvalidOffer(SfuError):
    """An SDP offer could not be applied (malformed, no media, nothing negotiable): the client's fault (400)."""


class UnsupportedCodec(InvalidOffer):
    """An offer negotiated a codec the SFU cannot forward (only VP8, H.264 and Opus)."""


class UnknownTrack(InvalidOffer):
    """An offer was said to carry a track on an m-line (a shared screen's mid) that it does not send
    as video: the caller named the wrong one (400)."""


class InvalidAnswer(SfuError):
    """An SDP answer to a server-created offer could not be applied (400)."""


class NoCandidates(SfuError):
    """The server has no ICE candidate to offer: no usable address, or out of sockets or
    file descriptors. Not the client's fault: refuse this session (503) and keep the others."""


class SfuClosedError(SfuError):
    """The object (SFU, publisher or subscriber) is closed and cannot be used."""
