"""Publisher encoders for the load generator: aiortc's VP8 and H.264 at a pinned bitrate,
and replaying variants that encode one cycle per process and send it again and again.

The bitrate is pinned (REMB from the SFU is ignored) so that every SFU under test gets
the same stream. Replayed frames repeat the first cycle's pictures, stamps included:
end-to-end latency (loadtests.frame_stamp) is only meaningful from a non-replay encoder.
"""

from __future__ import annotations

from typing import Any, ClassVar

from aiortc.codecs.base import Encoder
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import VIDEO_TIME_BASE, convert_timebase
from av.frame import Frame

__all__ = [
    "CODECS",
    "REPLAY_CYCLE",
    "FixedBitrateH264Encoder",
    "FixedBitrateVp8Encoder",
    "ReplayH264Encoder",
    "ReplayVp8Encoder",
    "make_encoder",
    "replay_cycle_complete",
]

CODECS = ("vp8", "h264")
REPLAY_CYCLE = 150  # frames (5 s) encoded once per process, then replayed: long enough that the
# one keyframe adds little to the 1 Mbps (a 1 s cycle averaged ~1.4 Mbps)


class _PinnedBitrate:
    """The bitrate an encoder was made with, whatever REMB from the SFU asks for (aiortc sets
    `target_bitrate` on REMB): every SFU under test then gets the same stream."""

    _fixed: int

    @property
    def target_bitrate(self) -> int:
        return self._fixed

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int) -> None:
        pass


class FixedBitrateVp8Encoder(_PinnedBitrate, Vp8Encoder):
    """aiortc's VP8 encoder at a fixed target bitrate."""

    def __init__(self, bitrate: int) -> None:
        super().__init__()
        Vp8Encoder.target_bitrate.fset(self, bitrate)  # type: ignore[attr-defined]
        self._fixed = bitrate


class FixedBitrateH264Encoder(_PinnedBitrate, H264Encoder):
    """aiortc's H.264 encoder (libx264, baseline, zerolatency) at a fixed target bitrate."""

    def __init__(self, bitrate: int) -> None:
        super().__init__()
        H264Encoder.target_bitrate.fset(self, bitrate)  # type: ignore[attr-defined]
        self._fixed = bitrate


class _Replaying:
    """The replay logic shared by the codecs (put before the encoder class): fill the class's
    `_cache` (one per codec, shared by every encoder of the process) with the first
    REPLAY_CYCLE encoded frames, the first forced to a keyframe, then hand them out in
    turn; a forced keyframe jumps back to the cycle's start."""

    _cache: ClassVar[list[list[bytes]]]
    _index = 0

    def encode(self, frame: Frame, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        if frame.pts is None or frame.time_base is None:  # tracks always set them
            raise ValueError("a frame to send needs a pts and a time base")
        timestamp = convert_timebase(frame.pts, frame.time_base, VIDEO_TIME_BASE)
        cache = type(self)._cache
        if len(cache) < REPLAY_CYCLE:
            encoder: Any = super()
            payloads, _ = encoder.encode(frame, force_keyframe or not cache)
            cache.append(payloads)
            return payloads, timestamp
        if force_keyframe:
            self._index = 0
        payloads = cache[self._index % REPLAY_CYCLE]
        self._index += 1
        return payloads, timestamp


class ReplayVp8Encoder(_Replaying, FixedBitrateVp8Encoder):
    """Encode one cycle of VP8 once (for every publisher of the process), then replay it.

    Many publishers in one load-generator process then cost almost nothing to encode. The
    payloads (and their VP8 picture ids) repeat every cycle, which decoders accept.
    """

    _cache: ClassVar[list[list[bytes]]] = []


class ReplayH264Encoder(_Replaying, FixedBitrateH264Encoder):
    """Encode one cycle of H.264 once (for every publisher of the process), then replay it.

    The cycle starts with an IDR picture, so the repeated frame numbers restart with it.
    """

    _cache: ClassVar[list[list[bytes]]] = []


def replay_cycle_complete(codec: str) -> bool:
    """True once this process has encoded the replay cycle of `codec`: pictures for its
    replaying encoders need not be drawn any more."""
    cache = {"vp8": ReplayVp8Encoder._cache, "h264": ReplayH264Encoder._cache}.get(codec)
    if cache is None:
        raise ValueError(f"unknown codec {codec!r}: one of {', '.join(CODECS)}")
    return len(cache) >= REPLAY_CYCLE


def make_encoder(codec: str, bitrate: int, replay: bool) -> Encoder:
    """The publisher encoder for `codec` ("vp8" or "h264"), live or replaying."""
    if codec == "vp8":
        return ReplayVp8Encoder(bitrate) if replay else FixedBitrateVp8Encoder(bitrate)
    if codec == "h264":
        return ReplayH264Encoder(bitrate) if replay else FixedBitrateH264Encoder(bitrate)
    raise ValueError(f"unknown codec {codec!r}: one of {', '.join(CODECS)}")
