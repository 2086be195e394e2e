"""Media kinds and the codecs the SFU forwards."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Codec", "MediaKind", "TrackSource"]


class MediaKind(StrEnum):
    """Kind of a track, as in SDP m-lines."""

    AUDIO = "audio"
    VIDEO = "video"


class TrackSource(StrEnum):
    """What a track shows or carries: a microphone, a camera, or a shared screen (a second video
    track, marked by the client when it publishes). Forwarded alike; clients lay them out apart."""

    MICROPHONE = "microphone"
    CAMERA = "camera"
    SCREEN = "screen"

    @classmethod
    def default(cls, kind: MediaKind) -> TrackSource:
        """The source of a track nobody marked: its kind's device."""
        return cls.MICROPHONE if kind is MediaKind.AUDIO else cls.CAMERA


class Codec(StrEnum):
    """Codecs the SFU forwards; the value is the MIME type aiortc uses."""

    VP8 = "video/VP8"
    H264 = "video/H264"
    OPUS = "audio/opus"

    @property
    def kind(self) -> MediaKind:
        """Media kind of the codec."""
        return MediaKind(self.value.split("/")[0])

    @classmethod
    def from_mime_type(cls, mime_type: str) -> Codec | None:
        """Return the codec for a MIME type (case-insensitive), or None if not forwarded."""
        lowered = mime_type.lower()
        for codec in cls:
            if codec.value.lower() == lowered:
                return codec
        return None
