"""The picture check of a subscriber's sampled video packets: decode, find the moving bar,
read the capture stamps for end-to-end latency. VP8 and H.264.

A sample is a list of `(sequence_number, rtp_timestamp, payload, arrival)` with arrival
the subscriber's `time.monotonic()` when the packet was tapped. Latency is only
meaningful from a live publisher: replaying ones repeat their first cycle's stamps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from struct import unpack_from

import numpy as np
from aiortc.codecs.base import Decoder
from aiortc.codecs.h264 import H264Decoder, h264_depayload
from aiortc.codecs.vpx import Vp8Decoder, VpxPayloadDescriptor, vp8_depayload
from aiortc.jitterbuffer import JitterFrame
from av import VideoFrame

from loadtests.encoders import CODECS
from loadtests.frame_stamp import age_ms, read_stamp, stamp_height
from loadtests.percentiles import percentile
from loadtests.sources import MovingTexture

__all__ = ["PictureCheck", "Sample", "check_picture", "is_keyframe_start"]

Sample = tuple[int, int, bytes, float]  # (sequence number, RTP timestamp, payload, arrival monotonic s)

_H264_KEY_NAL_TYPES = (5, 7)  # IDR slice, SPS
_NAL_STAP_A, _NAL_FU_A = 24, 28


@dataclass(frozen=True, slots=True)
class PictureCheck:
    """What decoding a subscriber's sampled packets gave."""

    packets: int
    frames_decoded: int
    distinct_bar_positions: int
    width: int
    height: int
    stamps_read: int = 0
    latencies_ms: tuple[float, ...] = ()  # per decoded frame with a readable stamp, in decoding order

    @property
    def moving(self) -> bool:
        return self.frames_decoded >= 5 and self.distinct_bar_positions >= 3

    @property
    def latency_p50_ms(self) -> float:
        return percentile(self.latencies_ms, 0.5)

    @property
    def latency_p95_ms(self) -> float:
        return percentile(self.latencies_ms, 0.95)

    @property
    def latency_max_ms(self) -> float:
        return max(self.latencies_ms, default=math.nan)


def _codec_tools(codec: str) -> tuple[Callable[[bytes], bytes], Decoder]:
    if codec == "vp8":
        return vp8_depayload, Vp8Decoder()
    if codec == "h264":
        return h264_depayload, H264Decoder()
    raise ValueError(f"unknown codec {codec!r}: one of {', '.join(CODECS)}")


def check_picture(sample: Sequence[Sample], codec: str = "vp8") -> PictureCheck:
    """Reassemble frames from sampled RTP packets (by timestamp, in sequence order), decode them,
    find the bright bar in each picture and read its stamp.

    A frame's latency is the arrival of its last packet minus its capture stamp. Frames that
    do not depayload or decode (before the first keyframe, or with a packet missing) are skipped.
    """
    depayload, decoder = _codec_tools(codec)
    by_timestamp: dict[int, list[tuple[int, bytes]]] = {}
    arrived: dict[int, float] = {}
    order: list[int] = []
    first_seq = sample[0][0] if sample else 0
    for seq, timestamp, payload, arrival in sample:
        if timestamp not in by_timestamp:
            by_timestamp[timestamp] = []
            order.append(timestamp)
        # relative to the first packet, centred: earlier packets arriving late still sort first
        by_timestamp[timestamp].append(((seq - first_seq + 0x8000) & 0xFFFF, payload))
        arrived[timestamp] = max(arrival, arrived.get(timestamp, arrival))
    decoded = 0
    positions: set[int] = set()
    latencies: list[float] = []
    width = height = 0
    for timestamp in order:
        parts = sorted(by_timestamp[timestamp])
        try:
            data = b"".join(depayload(payload) for _, payload in parts)
            frames = decoder.decode(JitterFrame(data=data, timestamp=timestamp))
        except Exception:  # a frame before the first keyframe, or one with a missing packet
            continue
        for frame in frames:
            if not isinstance(frame, VideoFrame):
                continue
            decoded += 1
            image = frame.to_ndarray(format="gray")
            height, width = image.shape
            below_stamp = image[stamp_height(height) :]
            positions.add(int(np.argmax(below_stamp.mean(axis=0))) // MovingTexture.BAR_STEP)
            stamp = read_stamp(image)
            # the decoder may hold frames back: its output pts is the RTP timestamp it was given
            frame_arrived = arrived.get(frame.pts if frame.pts is not None else timestamp)
            if stamp is not None and frame_arrived is not None:
                latencies.append(age_ms(stamp, frame_arrived))
    return PictureCheck(len(sample), decoded, len(positions), width, height,
                        stamps_read=len(latencies), latencies_ms=tuple(latencies))


def is_keyframe_start(codec: str, payload: bytes) -> bool:
    """True if this RTP payload begins a keyframe (VP8: first packet of a key frame; H.264: an
    IDR slice or SPS, alone, in a STAP-A, or the first fragment of an FU-A)."""
    if not payload:
        return False
    if codec == "vp8":
        try:
            descriptor, data = VpxPayloadDescriptor.parse(payload)
        except ValueError:
            return False
        return bool(descriptor.partition_start and descriptor.partition_id == 0 and data and not data[0] & 0x01)
    if codec == "h264":
        nal_type = payload[0] & 0x1F
        if nal_type in _H264_KEY_NAL_TYPES:
            return True
        if nal_type == _NAL_FU_A:
            return len(payload) > 1 and bool(payload[1] & 0x80) and payload[1] & 0x1F in _H264_KEY_NAL_TYPES
        if nal_type == _NAL_STAP_A:
            pos = 1
            while pos + 2 < len(payload):
                size = unpack_from("!H", payload, pos)[0]
                pos += 2
                if size and pos < len(payload) and payload[pos] & 0x1F in _H264_KEY_NAL_TYPES:
                    return True
                pos += size
        return False
    raise ValueError(f"unknown codec {codec!r}: one of {', '.join(CODECS)}")
