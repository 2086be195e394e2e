"""aiortc clients for SFU benchmarks: one synthetic publisher, N subscribers that never decode.

The publisher sends moving 640x480 VP8 at a fixed ~1 Mbps (REMB is ignored, so both
SFUs get the same stream), optionally a 440 Hz Opus tone, and answers keyframe
requests at most once per `keyframe_interval` (delayed, never dropped).

Subscribers tap their receivers with the SFU's own `tap_receiver` (no decoder thread,
null jitter buffer) and only count RTP packets per kind, with sequence-number based
loss. One subscriber can keep the first few seconds of video packets, decoded after
the measurement to check that the picture arrives and moves.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.codecs.vpx import Vp8Decoder, Vp8Encoder, vp8_depayload
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import VIDEO_TIME_BASE, MediaStreamError, convert_timebase
from aiortc.rtp import is_rtcp
from av import AudioFrame, VideoFrame

from sfu.aiortc_internals import ReceiveLayout, configure_host_addresses, tap_receiver

__all__ = [
    "LOOPBACK",
    "CountingSubscriber",
    "PictureCheck",
    "StreamCounter",
    "SyntheticPublisher",
    "strip_abs_send_time",
]

LOOPBACK = ("127.0.0.1",)
WIDTH, HEIGHT = 640, 480
ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
_SENDER_ENCODER = "_RTCRtpSender__encoder"  # aiortc 1.16.0: created lazily unless already set


def strip_abs_send_time(sdp: str) -> str:
    """Remove the abs-send-time header extension from an SDP (so no REMB flood on that leg)."""
    lines = [line for line in sdp.splitlines() if not (line.startswith("a=extmap:") and ABS_SEND_TIME in line)]
    return "\r\n".join(lines) + "\r\n"


def _client_pc() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


# --- publisher --------------------------------------------------------------------------------


class MovingTexture(VideoStreamTrack):
    """640x480 at 30 fps, made in yuv420p directly: a scrolling blocky texture, a band of fresh
    noise (so a 1 Mbps CBR encoder has to spend its bits) and a bright vertical bar whose
    position tells a decoded frame's number."""

    BAR = 16
    BAR_STEP = 8

    def __init__(self) -> None:
        super().__init__()
        self.frames = 0
        self._rng = np.random.default_rng(7)
        blocks = self._rng.integers(40, 110, size=(HEIGHT // 4, WIDTH // 2), dtype=np.uint8)
        texture = np.repeat(np.repeat(blocks, 4, axis=0), 4, axis=1)
        self._texture = np.concatenate([texture, texture], axis=1)
        self._chroma = np.full((HEIGHT // 2, WIDTH), 128, dtype=np.uint8)

    @classmethod
    def bar_position(cls, frame_number: int) -> int:
        return (frame_number * cls.BAR_STEP) % (WIDTH - cls.BAR)

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        n = self.frames
        offset = (n * 7) % WIDTH
        luma = self._texture[:, offset : offset + WIDTH].copy()
        band = (n * 37) % (HEIGHT - 60)
        luma[band : band + 60] = self._rng.integers(40, 110, size=(60, WIDTH), dtype=np.uint8)
        x = self.bar_position(n)
        luma[:, x : x + self.BAR] = 250
        frame = VideoFrame.from_ndarray(np.concatenate([luma, self._chroma]), format="yuv420p")
        frame.pts = pts
        frame.time_base = time_base
        self.frames += 1
        return frame


class ToneTrack(MediaStreamTrack):
    """A 440 Hz tone in 20 ms frames at 48 kHz, paced in real time."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._start: float | None = None
        self._samples = 0

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._samples / 48000 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        t = (np.arange(960) + self._samples) / 48000
        pcm = (np.sin(2 * math.pi * 440 * t) * 8000).astype(np.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, 48000)
        self._samples += 960
        return frame


class FixedBitrateVp8Encoder(Vp8Encoder):
    """aiortc's VP8 encoder at a fixed target bitrate: REMB from the SFU is ignored."""

    def __init__(self, bitrate: int) -> None:
        super().__init__()
        Vp8Encoder.target_bitrate.fset(self, bitrate)  # type: ignore[attr-defined]
        self._fixed = bitrate

    @property
    def target_bitrate(self) -> int:
        return self._fixed

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int) -> None:
        pass


class ReplayVp8Encoder(FixedBitrateVp8Encoder):
    """Encode one cycle of frames once (for every publisher of the process), then replay it.

    Many publishers in one load-generator process then cost almost nothing to encode. A
    cycle starts with a keyframe, so a forced keyframe jumps back to its start; the
    payloads (and their VP8 picture ids) repeat every cycle, which decoders accept.
    """

    CYCLE = 30
    _cache: ClassVar[list[list[bytes]]] = []

    def __init__(self, bitrate: int) -> None:
        super().__init__(bitrate)
        self._index = 0

    def encode(self, frame: Any, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        timestamp = convert_timebase(frame.pts, frame.time_base, VIDEO_TIME_BASE)
        cache = ReplayVp8Encoder._cache
        if len(cache) < self.CYCLE:
            payloads, _ = super().encode(frame, force_keyframe or not cache)
            cache.append(payloads)
            return payloads, timestamp
        if force_keyframe:
            self._index = 0
        payloads = cache[self._index % self.CYCLE]
        self._index += 1
        return payloads, timestamp


class ReplayTrack(VideoStreamTrack):
    """Moving frames for the first replay cycle, then the last one again, re-stamped.

    With `ReplayVp8Encoder` only the first cycle's pictures are encoded, so the rest
    need not be drawn: this keeps many publishers cheap in one process.
    """

    def __init__(self) -> None:
        super().__init__()
        self._source = MovingTexture()
        self._last: VideoFrame | None = None
        self._count = 0

    async def recv(self) -> VideoFrame:
        self._count += 1
        if self._last is None or self._count <= ReplayVp8Encoder.CYCLE:
            self._last = await self._source.recv()  # paced at 30 fps
            return self._last
        pts, time_base = await self.next_timestamp()
        self._last.pts, self._last.time_base = pts, time_base
        return self._last


class KeyframeLimiter:
    """At most one keyframe per `interval` seconds; requests in between are coalesced and
    served when the interval has passed (delayed, never dropped)."""

    def __init__(self, sender: RTCRtpSender, interval: float) -> None:
        self._force: Callable[[], None] = sender._send_keyframe
        self._interval = interval
        self._last = -math.inf
        self._pending: asyncio.TimerHandle | None = None
        self.requested = 0
        self.produced = 0
        patched: Any = sender
        patched._send_keyframe = self.request

    def request(self) -> None:
        self.requested += 1
        if self._pending is not None:
            return
        wait = self._last + self._interval - time.monotonic()
        if wait <= 0:
            self._fire()
        else:
            self._pending = asyncio.get_running_loop().call_later(wait, self._fire)

    def _fire(self) -> None:
        self._pending = None
        self._last = time.monotonic()
        self.produced += 1
        self._force()

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None


class SyntheticPublisher:
    """One aiortc publisher: VP8 (fixed bitrate) and optionally Opus, sendonly."""

    def __init__(self, *, audio: bool = False, bitrate: int = 1_000_000, keyframe_interval: float = 0.5,
                 replay: bool = False) -> None:
        """*replay*: encode once per process and replay (for many publishers, see ReplayVp8Encoder)."""
        self.pc = _client_pc()
        self.video: VideoStreamTrack = ReplayTrack() if replay else MovingTexture()
        self.packets_sent = 0
        video = self.pc.addTransceiver(self.video, direction="sendonly")
        capabilities = RTCRtpSender.getCapabilities("video").codecs
        video.setCodecPreferences(
            [c for c in capabilities if c.mimeType.lower() in ("video/vp8", "video/rtx")]
        )
        encoder = ReplayVp8Encoder(bitrate) if replay else FixedBitrateVp8Encoder(bitrate)
        setattr(video.sender, _SENDER_ENCODER, encoder)
        self.keyframes = KeyframeLimiter(video.sender, keyframe_interval)
        if audio:
            self.pc.addTransceiver(ToneTrack(), direction="sendonly")

    async def offer(self) -> str:
        configure_host_addresses(self.pc, LOOPBACK)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        transport: Any = self.pc.getTransceivers()[0].sender.transport
        original = transport._send_rtp

        async def count(data: bytes) -> None:
            if not is_rtcp(data):
                self.packets_sent += 1
            await original(data)

        transport._send_rtp = count
        return str(self.pc.localDescription.sdp)

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    async def close(self) -> None:
        self.keyframes.cancel()
        await self.pc.close()


# --- subscribers ------------------------------------------------------------------------------


@dataclass(slots=True)
class StreamCounter:
    """Packets of one received stream; loss from extended sequence numbers."""

    received: int = 0
    repaired: int = 0
    first_seq: int | None = None
    highest: int = 0  # extended sequence number

    def add(self, sequence_number: int, repaired: bool) -> None:
        self.received += 1
        if repaired:
            self.repaired += 1
        if self.first_seq is None:
            self.first_seq = self.highest = sequence_number
            return
        last = self.highest & 0xFFFF
        delta = (sequence_number - last) & 0xFFFF
        if delta < 0x8000:
            self.highest += delta

    @property
    def expected(self) -> int:
        return 0 if self.first_seq is None else self.highest - self.first_seq + 1


@dataclass
class CountingSubscriber:
    """A subscriber peer connection whose receivers count RTP and never decode."""

    keep_sample_packets: int = 0
    pc: RTCPeerConnection = field(default_factory=_client_pc)
    streams: dict[str, StreamCounter] = field(default_factory=dict)
    sample: list[tuple[int, int, bytes]] = field(default_factory=list)  # (seq, timestamp, payload)
    first_packet_at: float | None = None

    @property
    def packets(self) -> int:
        return sum(s.received for s in self.streams.values())

    def _tap(self) -> None:
        for transceiver in self.pc.getTransceivers():
            kind = str(transceiver.kind)
            counter = self.streams.setdefault(kind, StreamCounter())

            async def on_rtp(packet: Any, repaired: bool, _counter: StreamCounter = counter,
                             _kind: str = kind) -> None:
                _counter.add(packet.sequence_number, repaired)
                if self.first_packet_at is None:
                    self.first_packet_at = time.monotonic()
                if _kind == "video" and len(self.sample) < self.keep_sample_packets:
                    self.sample.append((packet.sequence_number, packet.timestamp, packet.payload))

            def on_started(layout: ReceiveLayout) -> None:
                pass

            tap_receiver(transceiver.receiver, on_rtp, lambda ssrc, ntp, rtp: None, on_started)

    async def offer(self, kinds: list[str]) -> str:
        """WHEP style: the client offers one recvonly m-line per kind."""
        for kind in kinds:
            self.pc.addTransceiver(kind, direction="recvonly")
        self._tap()
        configure_host_addresses(self.pc, LOOPBACK)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return strip_abs_send_time(str(self.pc.localDescription.sdp))

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=strip_abs_send_time(answer), type="answer"))

    async def answer(self, offer: str) -> str:
        """Server-offer style (Janus): abs-send-time is removed from the offer, so the answer
        does not negotiate it either."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=strip_abs_send_time(offer), type="offer"))
        self._tap()  # before aiortc starts the receivers (they start once connected)
        configure_host_addresses(self.pc, LOOPBACK)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return str(self.pc.localDescription.sdp)

    async def close(self) -> None:
        await self.pc.close()


# --- picture check ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PictureCheck:
    """What decoding a subscriber's sampled packets gave."""

    packets: int
    frames_decoded: int
    distinct_bar_positions: int
    width: int
    height: int

    @property
    def moving(self) -> bool:
        return self.frames_decoded >= 5 and self.distinct_bar_positions >= 3


def check_picture(sample: list[tuple[int, int, bytes]]) -> PictureCheck:
    """Reassemble VP8 frames from sampled RTP packets (by timestamp, in sequence order), decode
    them, and find the bright bar in each picture."""
    by_timestamp: dict[int, list[tuple[int, bytes]]] = {}
    order: list[int] = []
    first_seq = sample[0][0] if sample else 0
    for seq, timestamp, payload in sample:
        if timestamp not in by_timestamp:
            by_timestamp[timestamp] = []
            order.append(timestamp)
        by_timestamp[timestamp].append(((seq - first_seq) & 0xFFFF, payload))
    decoder = Vp8Decoder()
    decoded = 0
    positions: set[int] = set()
    width = height = 0
    for timestamp in order:
        parts = sorted(by_timestamp[timestamp])
        try:
            data = b"".join(vp8_depayload(payload) for _, payload in parts)
            frames = decoder.decode(JitterFrame(data=data, timestamp=timestamp))
        except Exception:  # a frame before the first keyframe, or one with a missing packet
            continue
        for frame in frames:
            if not isinstance(frame, VideoFrame):
                continue
            decoded += 1
            image = frame.to_ndarray(format="gray")
            height, width = image.shape
            positions.add(int(np.argmax(image.mean(axis=0))) // MovingTexture.BAR_STEP)
    return PictureCheck(len(sample), decoded, len(positions), width, height)
