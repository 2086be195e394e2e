"""What a pre-call check's measurements mean: the thresholds, the verdict and the advice, in one place.

The browser measures; the server judges (so every client and the clinician see the same rules) and
answers the verdict with advice codes that the client turns into Polish or English sentences.

Thresholds (docs/telemedicine.md, "Pre-call check"):

- a video visit needs upstream ≥ 500 kbit/s and a round trip ≤ 300 ms, a working camera,
  microphone and speaker: the client sends video of at most 640x360, which browsers encode at
  about 300-700 kbit/s adapting to the link, plus Opus audio; conversation feels natural below
  ~300 ms round trip;
- an audio visit needs upstream ≥ 64 kbit/s (Opus speech at 32-48 kbit/s with headroom for RTP,
  SRTP and retransmissions) and a round trip ≤ 800 ms (ITU-T G.114's 400 ms one way: still usable);
- anything less, a missing microphone, a speaker the person did not hear, or no answer from the
  server at all: the visit will not work as things are.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

__all__ = [
    "AUDIO_MAX_RTT_MS",
    "AUDIO_MIN_KBPS",
    "VIDEO_MAX_RTT_MS",
    "VIDEO_MIN_KBPS",
    "Advice",
    "Measurement",
    "Verdict",
    "judge",
]

VIDEO_MIN_KBPS = 500
VIDEO_MAX_RTT_MS = 300
AUDIO_MIN_KBPS = 64
AUDIO_MAX_RTT_MS = 800


class Verdict(StrEnum):
    """The plain answer: a video visit will work, audio only is recommended, or it will not work."""

    VIDEO = "video"
    AUDIO_ONLY = "audio_only"
    NOT_WORKING = "not_working"


class _Level(IntEnum):
    NOT_WORKING = 0
    AUDIO_ONLY = 1
    VIDEO = 2


_VERDICT = {_Level.VIDEO: Verdict.VIDEO, _Level.AUDIO_ONLY: Verdict.AUDIO_ONLY,
            _Level.NOT_WORKING: Verdict.NOT_WORKING}


class Advice(StrEnum):
    """What to do about one finding; the client words each (web/i18n.js ``precheck_advice_*``)."""

    CAMERA = "camera"  # allow the camera, close other apps using it
    MICROPHONE = "microphone"  # allow the microphone, check it is not muted
    SPEAKER = "speaker"  # turn the volume up or plug in headphones, then test again
    SLOW_UPLOAD = "slow_upload"  # move closer to the router or switch network
    HIGH_LATENCY = "high_latency"  # switch network (e.g. mobile data ↔ Wi-Fi)
    NO_CONNECTION = "no_connection"  # the server did not answer: check the internet connection
    AUDIO_ONLY = "audio_only"  # turn the camera off for the visit


@dataclass(frozen=True, slots=True)
class Measurement:
    """What the browser found: devices (``speaker`` None when the person did not answer) and the
    connection (None when the test got no answer)."""

    camera: bool
    microphone: bool
    speaker: bool | None
    rtt_ms: int | None
    upstream_kbps: int | None


def _connection(m: Measurement) -> tuple[_Level, list[Advice]]:
    if m.rtt_ms is None or m.upstream_kbps is None:
        return _Level.NOT_WORKING, [Advice.NO_CONNECTION]
    advice = []
    if m.upstream_kbps < VIDEO_MIN_KBPS:
        advice.append(Advice.SLOW_UPLOAD)
    if m.rtt_ms > VIDEO_MAX_RTT_MS:
        advice.append(Advice.HIGH_LATENCY)
    if not advice:
        return _Level.VIDEO, []
    if m.upstream_kbps >= AUDIO_MIN_KBPS and m.rtt_ms <= AUDIO_MAX_RTT_MS:
        return _Level.AUDIO_ONLY, [*advice, Advice.AUDIO_ONLY]
    return _Level.NOT_WORKING, advice


def _devices(m: Measurement) -> tuple[_Level, list[Advice]]:
    level, advice = _Level.VIDEO, []
    if not m.microphone:
        level, advice = _Level.NOT_WORKING, [Advice.MICROPHONE]
    if m.speaker is False:
        level = _Level.NOT_WORKING
        advice.append(Advice.SPEAKER)
    if not m.camera:
        level = min(level, _Level.AUDIO_ONLY)
        advice.append(Advice.CAMERA)
    return level, advice


def judge(m: Measurement) -> tuple[Verdict, tuple[Advice, ...]]:
    """The verdict of *m* (the worse of the devices' and the connection's) and what to do, most
    important first, each piece of advice once."""
    device_level, device_advice = _devices(m)
    link_level, link_advice = _connection(m)
    level = min(device_level, link_level)
    advice = [a for a in device_advice + link_advice if level is not _Level.NOT_WORKING or a is not Advice.AUDIO_ONLY]
    return _VERDICT[level], tuple(dict.fromkeys(advice))
