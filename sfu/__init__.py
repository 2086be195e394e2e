"""Selective forwarding unit on aiortc: receives RTP from publishers and forwards it,
without decoding or re-encoding, to subscribers. Media only: knows nothing of rooms."""

from __future__ import annotations

from .active_speaker import ActiveSpeakerDetector
from .config import SfuConfig
from .errors import (
    InvalidAnswer,
    InvalidOffer,
    NoCandidates,
    SfuClosedError,
    SfuError,
    UnknownTrack,
    UnsupportedCodec,
)
from .events import Event
from .forwarder import ForwarderState, TrackForwarder
from .media import Codec, MediaKind, TrackSource
from .publisher import Publisher
from .router import Sfu
from .stats import ForwardingStats, SfuCounters, TrackStats
from .subscriber import Subscriber
from .track import PublishedTrack

__all__ = [
    "ActiveSpeakerDetector",
    "Codec",
    "Event",
    "ForwarderState",
    "ForwardingStats",
    "InvalidAnswer",
    "InvalidOffer",
    "MediaKind",
    "NoCandidates",
    "PublishedTrack",
    "Publisher",
    "Sfu",
    "SfuClosedError",
    "SfuConfig",
    "SfuCounters",
    "SfuError",
    "Subscriber",
    "TrackForwarder",
    "TrackSource",
    "TrackStats",
    "UnknownTrack",
    "UnsupportedCodec",
]
