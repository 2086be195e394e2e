"""Recognise the first RTP packet of a keyframe from the payload, without decoding.

A subscriber that starts mid-stream gets nothing until such a packet arrives,
so that its decoder never sees a delta frame without its reference.
"""

from __future__ import annotations

from .media import Codec

__all__ = ["h264_is_keyframe_start", "is_keyframe_start", "vp8_is_keyframe_start"]

_H264_IDR = 5
_H264_SPS = 7
_H264_STAP_A = 24
_H264_FU_A = 28


def vp8_is_keyframe_start(payload: bytes) -> bool:
    """Return True if `payload` (RFC 7741) starts partition 0 of a VP8 keyframe."""
    if not payload:
        return False
    first = payload[0]
    start_of_partition = first & 0x10
    partition_id = first & 0x07
    if not start_of_partition or partition_id != 0:
        return False
    pos = 1
    if first & 0x80:  # X: extended control bits present
        if len(payload) < 2:
            return False
        ext = payload[1]
        pos = 2
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            if len(payload) <= pos:
                return False
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            pos += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX
            pos += 1
    if len(payload) <= pos:
        return False
    # VP8 payload header: P bit (inverse keyframe flag) is the lowest bit.
    return payload[pos] & 0x01 == 0


def _h264_nal_starts_keyframe(nal_type: int) -> bool:
    return nal_type in (_H264_IDR, _H264_SPS)


def h264_is_keyframe_start(payload: bytes) -> bool:
    """Return True if `payload` (RFC 6184) carries an SPS or the start of an IDR slice.

    Handles single NAL unit packets, STAP-A aggregates and FU-A fragments.
    """
    if not payload:
        return False
    nal_type = payload[0] & 0x1F
    if nal_type == _H264_STAP_A:
        pos = 1
        while pos + 2 < len(payload):
            size = (payload[pos] << 8) | payload[pos + 1]
            pos += 2
            if size == 0 or pos + size > len(payload):
                return False
            if _h264_nal_starts_keyframe(payload[pos] & 0x1F):
                return True
            pos += size
        return False
    if nal_type == _H264_FU_A:
        if len(payload) < 2:
            return False
        fu_header = payload[1]
        return bool(fu_header & 0x80) and _h264_nal_starts_keyframe(fu_header & 0x1F)
    return _h264_nal_starts_keyframe(nal_type)


def is_keyframe_start(codec: Codec, payload: bytes) -> bool:
    """Return True if a packet of `codec` with `payload` may begin a subscriber's stream.

    Audio packets always may; video packets only at a keyframe.
    """
    if codec is Codec.VP8:
        return vp8_is_keyframe_start(payload)
    if codec is Codec.H264:
        return h264_is_keyframe_start(payload)
    return True
