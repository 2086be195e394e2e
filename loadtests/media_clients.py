"""aiortc clients for SFU benchmarks: one synthetic publisher, N subscribers that never decode.

The publisher sends moving 640x480 VP8 or H.264 at a fixed ~1 Mbps (REMB is ignored, so
both SFUs get the same stream), optionally a 440 Hz Opus tone, and answers keyframe
requests at most once per `keyframe_interval` (delayed, never dropped). Every frame
carries its capture time (loadtests.frame_stamp) for end-to-end latency; replaying
publishers repeat stale stamps, so latency is only meaningful from a live one.

Subscribers tap their receivers with the SFU's own `tap_receiver` (no decoder thread,
null jitter buffer) and only count RTP packets per kind, with sequence-number based
loss. One subscriber can keep the first few seconds of video packets with their arrival
times, decoded after the measurement (loadtests.picture) to check that the picture
arrives and moves, and how late.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.rtp import RtpPacket, is_rtcp

from loadtests.encoders import CODECS, make_encoder
from loadtests.kernel_sink import drop_rtp_in_kernel
from loadtests.picture import is_keyframe_start
from loadtests.sources import MovingTexture, ReplayTrack, ToneTrack
from sfu.aiortc_internals import (
    ReceiveLayout,
    configure_host_addresses,
    negotiated_codecs,
    tap_receiver,
    tap_srtp_datagrams,
    udp_sockets,
)

__all__ = [
    "LOOPBACK",
    "CountingSubscriber",
    "StreamCounter",
    "SyntheticPublisher",
    "strip_abs_send_time",
]

LOOPBACK = ("127.0.0.1",)
ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
_SENDER_ENCODER = "_RTCRtpSender__encoder"  # aiortc 1.16.0: created lazily unless already set


def strip_abs_send_time(sdp: str) -> str:
    """Remove the abs-send-time header extension from an SDP (so no REMB flood on that leg)."""
    lines = [line for line in sdp.splitlines() if not (line.startswith("a=extmap:") and ABS_SEND_TIME in line)]
    return "\r\n".join(lines) + "\r\n"


def _client_pc() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


# --- publisher --------------------------------------------------------------------------------


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
    """One aiortc publisher: VP8 or H.264 (fixed bitrate) and optionally Opus, sendonly."""

    def __init__(self, *, audio: bool = False, bitrate: int = 1_000_000, keyframe_interval: float = 0.5,
                 replay: bool = False, codec: str = "vp8") -> None:
        """*replay*: encode once per process and replay (for many publishers; stale stamps, so
        no latency from them). *codec*: "vp8" or "h264" (offered alone, with rtx)."""
        if codec not in CODECS:
            raise ValueError(f"unknown codec {codec!r}: one of {', '.join(CODECS)}")
        self.codec = codec
        self.pc = _client_pc()
        self.replay = replay
        self.video: VideoStreamTrack = ReplayTrack(codec) if replay else MovingTexture()
        self.packets_sent = 0
        video = self.pc.addTransceiver(self.video, direction="sendonly")
        capabilities = RTCRtpSender.getCapabilities("video").codecs
        wanted = (f"video/{codec}", "video/rtx")
        video.setCodecPreferences([c for c in capabilities if c.mimeType.lower() in wanted])
        setattr(video.sender, _SENDER_ENCODER, make_encoder(codec, bitrate, replay))
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
    octets: int = 0  # SRTP datagram bytes (light) or payload + 22 header/tag bytes (full)
    frames: int = 0  # video frames completed (packets with the marker bit): the frame rate

    def add(self, sequence_number: int, repaired: bool, octets: int = 0, end_of_frame: bool = False) -> None:
        self.received += 1
        self.octets += octets
        self.frames += end_of_frame
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
    """A subscriber peer connection that counts RTP packets and never decodes.

    Full (default): aiortc's receive path up to the receiver (SRTP, parsing, receiver
    reports, NACKs; RTX unwrapped), tapped before the jitter buffer; it can keep a sample
    of video packets for `loadtests.picture`. Light (`light=True`): SRTP datagrams are
    counted from their clear RTP header before aiortc sees them (`tap_srtp_datagrams`),
    decrypting only until the first keyframe; no NACKs, so loss is first transmissions
    missing and retransmissions are only counted. Light subscribers cost the load
    generator a few µs per packet, so hundreds fit beside the SFU they measure. Sink
    (`sink=True`, light too): the kernel drops its RTP (`loadtests.kernel_sink`); its
    connection lives on (STUN, DTLS, RTCP) and it counts nothing, at no cost at all.
    """

    keep_sample_packets: int = 0
    light: bool = False
    sink: bool = False  # the kernel drops its RTP (loadtests.kernel_sink): it counts nothing, costs nothing
    codec: str = "vp8"  # for keyframe detection (time to first frame)
    pc: RTCPeerConnection = field(default_factory=_client_pc)
    streams: dict[str, StreamCounter] = field(default_factory=dict)
    # video packets kept for loadtests.picture: (seq, timestamp, payload, time.monotonic() at arrival)
    sample: list[tuple[int, int, bytes, float]] = field(default_factory=list)
    first_packet_at: float | None = None
    first_keyframe_at: float | None = None  # time.monotonic() of the first packet of a video keyframe
    retransmissions: int = 0  # RTX packets seen by a light subscriber (not unwrapped)
    _tapped: set[Any] = field(default_factory=set)  # full mode: transceivers tapped
    _types: dict[int, tuple[str, bool]] = field(default_factory=dict)  # light: payload type → (kind, rtx)
    _by_ssrc: dict[int, StreamCounter] = field(default_factory=dict)  # light: counters
    _unprotect: Callable[[bytes], bytes] | None = None  # light: set once the transport is hooked
    sink_inodes: set[int] = field(default_factory=set)  # its filtered sockets (their drops are on purpose)

    def _sink(self) -> None:
        if self.sink and not self.sink_inodes:
            self.sink_inodes = {drop_rtp_in_kernel(sock) for sock in udp_sockets(self.pc)}

    @property
    def packets(self) -> int:
        return sum(s.received for s in self.streams.values())

    def _seen(self, kind: str, payload: Callable[[], bytes]) -> None:
        """First packet and first keyframe times (`payload` is only read until a keyframe came)."""
        if self.first_keyframe_at is not None:
            return
        now = time.monotonic()
        if self.first_packet_at is None:
            self.first_packet_at = now
        if kind == "video" and is_keyframe_start(self.codec, payload()):
            self.first_keyframe_at = now

    def _tap(self) -> None:
        """Full mode: tap every receiver not tapped yet (before aiortc starts it)."""
        if self.light:
            return  # counted in _tap_datagrams once the payload types are negotiated
        for index, transceiver in enumerate(self.pc.getTransceivers()):
            if transceiver in self._tapped:
                continue
            self._tapped.add(transceiver)
            kind = str(transceiver.kind)
            counter = self.streams.setdefault(f"{kind}#{index}", StreamCounter())

            async def on_rtp(packet: Any, repaired: bool, _counter: StreamCounter = counter,
                             _kind: str = kind) -> None:
                _counter.add(packet.sequence_number, repaired, len(packet.payload) + 22,
                             _kind == "video" and bool(packet.marker))
                self._seen(_kind, lambda: bytes(packet.payload))
                if _kind == "video" and len(self.sample) < self.keep_sample_packets:
                    self.sample.append((packet.sequence_number, packet.timestamp, packet.payload,
                                        time.monotonic()))

            def on_started(layout: ReceiveLayout) -> None:
                pass

            tap_receiver(transceiver.receiver, on_rtp, lambda ssrc, ntp, rtp: None, on_started)

    def _tap_datagrams(self) -> None:
        """Light mode, after each negotiation: learn the payload types (before any media can
        arrive), and on the first one hook the transport; a counter per SSRC."""
        if not self.light:
            return
        for transceiver in self.pc.getTransceivers():
            for codec in negotiated_codecs(transceiver):
                self._types[codec.payload_type] = (str(transceiver.kind), False)
                if codec.rtx_payload_type is not None:
                    self._types[codec.rtx_payload_type] = (str(transceiver.kind), True)
        if self._unprotect is not None:
            return
        types, by_ssrc = self._types, self._by_ssrc

        def clear_payload(data: bytes) -> bytes:
            try:
                assert self._unprotect is not None
                return bytes(RtpPacket.parse(self._unprotect(data)).payload)
            except Exception:  # not decryptable (yet): not a keyframe as far as we can tell
                return b""

        def on_datagram(data: bytes) -> bool:
            entry = types.get(data[1] & 0x7F)
            if entry is None:
                return False  # aiortc handles what we do not know
            kind, rtx = entry
            if rtx:
                self.retransmissions += 1
                return True
            ssrc = int.from_bytes(data[8:12], "big")
            counter = by_ssrc.get(ssrc)
            if counter is None:
                counter = by_ssrc[ssrc] = self.streams[f"{kind}:{ssrc}"] = StreamCounter()
            counter.add((data[2] << 8) | data[3], False, len(data), kind == "video" and data[1] > 127)
            if self.first_keyframe_at is None:  # decrypt only until the first keyframe
                self._seen(kind, lambda: clear_payload(data))
            return True

        self._unprotect = tap_srtp_datagrams(self.pc.getTransceivers()[0].receiver.transport, on_datagram)

    async def offer(self, kinds: list[str]) -> str:
        """WHEP style: the client offers one recvonly m-line per kind."""
        for kind in kinds:
            self.pc.addTransceiver(kind, direction="recvonly")
        self._tap()
        configure_host_addresses(self.pc, LOOPBACK)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self._sink()
        return strip_abs_send_time(str(self.pc.localDescription.sdp))

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=strip_abs_send_time(answer), type="answer"))
        self._tap_datagrams()  # ICE starts after this returns: no media has arrived yet

    async def answer(self, offer: str) -> str:
        """Server-offer style (Janus; Konsylium's Socket.IO subscribe connection, offered again
        when tracks come and go): abs-send-time is removed from the offer, so the answer does
        not negotiate it either."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=strip_abs_send_time(offer), type="offer"))
        self._tap()  # before aiortc starts the receivers (they start once connected)
        configure_host_addresses(self.pc, LOOPBACK)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        self._sink()
        self._tap_datagrams()
        return str(self.pc.localDescription.sdp)

    async def close(self) -> None:
        await self.pc.close()
