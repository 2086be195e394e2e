"""Real aiortc client peers for the SFU tests: a synthetic publisher and decoding subscribers.

Clients may touch aiortc internals directly (to capture and drop packets); the SFU may not.
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcdtlstransport import RTCCertificate, generate_certificate
from aiortc.rtp import RtcpPacket, RtcpSrPacket, RtpPacket, is_rtcp
from av import VideoFrame
from cryptography.hazmat.primitives.asymmetric import rsa

from loadtests.sources import ToneTrack
from sfu import MediaKind, Subscriber
from sfu.aiortc_internals import configure_host_addresses

LOOPBACK = ("127.0.0.1",)
WIDTH, HEIGHT = 320, 240


def resources() -> tuple[int, set[str], int]:
    """What this process holds now, to compare before and after: (asyncio tasks, thread names, open fds)."""
    gc.collect()
    tasks = len(asyncio.all_tasks())
    # aiortc encoders run in the default executor, whose worker threads are reused, not leaked.
    threads = {t.name for t in threading.enumerate() if not t.name.startswith("asyncio_")}
    fds = len(os.listdir("/proc/self/fd"))
    return tasks, threads, fds


async def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `predicate` until true; fail the test naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


class MovingBarTrack(VideoStreamTrack):
    """Synthetic video: a white vertical bar moving across a dark frame."""

    def __init__(self) -> None:
        super().__init__()
        self.frames = 0

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        image = np.full((HEIGHT, WIDTH, 3), 30, dtype=np.uint8)
        x = (self.frames * 8) % (WIDTH - 16)
        image[:, x : x + 16, :] = 230
        frame = VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = pts
        frame.time_base = time_base
        self.frames += 1
        return frame


@dataclass
class RtpRecord:
    payload_type: int
    ssrc: int
    sequence_number: int
    timestamp: int
    marker: int
    payload: bytes
    audio_level: Any = None


def rsa_certificate() -> RTCCertificate:
    """A DTLS certificate with an RSA key (GStreamer's webrtcbin has one; aiortc's is ECDSA)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return RTCCertificate(key=key, cert=generate_certificate(key))


def client_pc(rsa_cert: bool = False) -> RTCPeerConnection:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    if rsa_cert:  # before any transceiver exists: each DTLS transport takes the list when created
        pc._RTCPeerConnection__certificates = [rsa_certificate()]  # type: ignore[attr-defined]
    return pc


def _prefer(transceiver: Any, mime_type: str) -> None:
    caps = RTCRtpSender.getCapabilities(transceiver.kind).codecs
    chosen = [c for c in caps if c.mimeType.lower() == mime_type.lower()]
    rtx = [c for c in caps if c.mimeType.lower().endswith("/rtx")]
    transceiver.setCodecPreferences(chosen + rtx)


class PublisherClient:
    """An aiortc client sending moving video and/or a tone; records every RTP/SR it sends."""

    def __init__(
        self, video: bool = True, audio: bool = True, video_codec: str = "video/VP8", rsa_cert: bool = False
    ) -> None:
        self.pc = client_pc(rsa_cert)
        self.sent: list[RtpRecord] = []
        self.sender_reports: list[tuple[int, int, int]] = []
        self.video_track = MovingBarTrack() if video else None
        self.audio_track = ToneTrack() if audio else None
        self.keyframe_requests = 0
        # Return True to drop an outgoing RTP packet (simulated loss toward the SFU).
        self.drop: Callable[[Any], bool] | None = None
        if self.video_track is not None:
            t = self.pc.addTransceiver(self.video_track, direction="sendonly")
            _prefer(t, video_codec)
            original = t.sender._send_keyframe

            def count_keyframe() -> None:
                self.keyframe_requests += 1
                original()

            t.sender._send_keyframe = count_keyframe
        if self.audio_track is not None:
            self.pc.addTransceiver(self.audio_track, direction="sendonly")

    async def offer(self) -> str:
        configure_host_addresses(self.pc, LOOPBACK)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        transport = self.pc.getTransceivers()[0].sender.transport
        original = transport._send_rtp

        async def capture(data: bytes) -> None:
            if is_rtcp(data):
                for packet in RtcpPacket.parse(data):
                    if isinstance(packet, RtcpSrPacket):
                        info = packet.sender_info
                        self.sender_reports.append((packet.ssrc, info.ntp_timestamp, info.rtp_timestamp))
            else:
                p = RtpPacket.parse(data)
                self.sent.append(RtpRecord(p.payload_type, p.ssrc, p.sequence_number, p.timestamp, p.marker, p.payload))
                if self.drop is not None and self.drop(p):
                    return
            await original(data)

        transport._send_rtp = capture
        return str(self.pc.localDescription.sdp)

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    def ssrc(self, kind: str) -> int:
        for t in self.pc.getTransceivers():
            if t.kind == kind:
                return int(t.sender._ssrc)
        raise KeyError(kind)

    def sent_payloads(self, kind: str) -> set[tuple[int, bytes]]:
        ssrc = self.ssrc(kind)
        return {(r.timestamp, r.payload) for r in self.sent if r.ssrc == ssrc}

    async def close(self) -> None:
        await self.pc.close()


@dataclass
class ReceivedTrack:
    kind: str
    frames: int = 0
    first_frame_at: float | None = None
    bar_positions: list[int] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


class SubscriberClient:
    """An aiortc client receiving from the SFU; decodes, records RTP and can drop packets."""

    def __init__(self, rsa_cert: bool = False) -> None:
        self.pc = client_pc(rsa_cert)
        self.received: list[RtpRecord] = []
        self.rtx_received = 0
        self.sender_reports: list[tuple[int, int, int]] = []
        self.tracks: dict[str, ReceivedTrack] = {}
        self.created_at = time.monotonic()
        # Return True to drop a (non-RTX) packet before aiortc sees it.
        self.drop: Callable[[Any], bool] | None = None
        self._hooked: set[int] = set()
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        received = ReceivedTrack(track.kind)
        self.tracks[track.id] = received
        received.task = asyncio.ensure_future(self._consume(track, received))

    async def _consume(self, track: MediaStreamTrack, received: ReceivedTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                received.frames += 1
                if received.first_frame_at is None:
                    received.first_frame_at = time.monotonic()
                if track.kind == "video" and received.frames % 3 == 0:
                    image = frame.to_ndarray(format="gray")
                    received.bar_positions.append(int(np.argmax(image.mean(axis=0))))
        except (MediaStreamError, asyncio.CancelledError):
            pass

    def video(self) -> ReceivedTrack:
        return next(t for t in self.tracks.values() if t.kind == "video")

    def audio(self) -> ReceivedTrack:
        return next(t for t in self.tracks.values() if t.kind == "audio")

    def _hook_receivers(self) -> None:
        for transceiver in self.pc.getTransceivers():
            receiver = transceiver.receiver
            if id(receiver) in self._hooked:
                continue
            self._hooked.add(id(receiver))
            original = receiver._handle_rtp_packet
            original_rtcp = receiver._handle_rtcp_packet
            rtx_pts = {c.payloadType for c in transceiver._codecs if c.mimeType.lower().endswith("/rtx")}

            async def handle(
                packet: Any, arrival_time_ms: int, _orig: Any = original, _rtx: set[int] = rtx_pts
            ) -> None:
                if packet.payload_type in _rtx:
                    self.rtx_received += 1
                    seq = int.from_bytes(packet.payload[:2], "big")
                    self.received.append(
                        RtpRecord(-1, packet.ssrc, seq, packet.timestamp, packet.marker, packet.payload[2:])
                    )
                else:
                    if self.drop is not None and self.drop(packet):
                        return
                    self.received.append(
                        RtpRecord(
                            packet.payload_type,
                            packet.ssrc,
                            packet.sequence_number,
                            packet.timestamp,
                            packet.marker,
                            packet.payload,
                            packet.extensions.audio_level,
                        )
                    )
                await _orig(packet, arrival_time_ms)

            async def handle_rtcp(packet: Any, _orig: Any = original_rtcp) -> None:
                if isinstance(packet, RtcpSrPacket):
                    info = packet.sender_info
                    self.sender_reports.append((packet.ssrc, info.ntp_timestamp, info.rtp_timestamp))
                await _orig(packet)

            receiver._handle_rtp_packet = handle
            receiver._handle_rtcp_packet = handle_rtcp

    async def whep(
        self,
        subscriber: Subscriber,
        tracks: list[Any],
        munge: dict[int, int] | None = None,
        kinds: list[str] | None = None,
        rewrite: Callable[[str], str] | None = None,
    ) -> str:
        """Client offers recvonly m-lines (one per track, or one per `kinds`), the SFU answers.

        `rewrite` edits the offer text before the SFU sees it. Returns the answer."""
        for kind in kinds if kinds is not None else [t.kind.value for t in tracks]:
            self.pc.addTransceiver(kind, direction="recvonly")
        configure_host_addresses(self.pc, LOOPBACK)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = str(self.pc.localDescription.sdp)
        if munge:
            offer = munge_payload_types(offer, munge)
        if rewrite is not None:
            offer = rewrite(offer)
        answer = await subscriber.answer(offer, tracks)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        self._hook_receivers()
        return answer

    async def answer_server_offer(self, offer: str) -> str:
        """Server offers (Socket.IO style); the client answers."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        self._hook_receivers()
        configure_host_addresses(self.pc, LOOPBACK)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return str(self.pc.localDescription.sdp)

    def records(self, ssrc: int, include_rtx: bool = True) -> list[RtpRecord]:
        return [r for r in self.received if r.ssrc == ssrc and (include_rtx or r.payload_type >= 0)]

    async def close(self) -> None:
        for track in self.tracks.values():
            if track.task is not None:
                track.task.cancel()
        await asyncio.gather(*(t.task for t in self.tracks.values() if t.task), return_exceptions=True)
        await self.pc.close()


async def video_to_one_subscriber(sfu: Any, peers: Any, frames: int = 5) -> tuple[Any, Any, Any]:
    """Publisher client → SFU → one WHEP subscriber of its video, `frames` decoded.

    Returns (the SFU's publisher, the SFU's subscriber, the published video track)."""
    pub_client = peers.publisher()
    publisher = await sfu.create_publisher(await pub_client.offer())
    await pub_client.accept(publisher.answer)
    video = next(t for t in publisher.tracks if t.kind is MediaKind.VIDEO)
    client = peers.subscriber()
    subscriber = sfu.create_subscriber()
    await client.whep(subscriber, [video])
    await wait_for(lambda: bool(client.tracks) and client.video().frames >= frames, 10, f"{frames} frames")
    return publisher, subscriber, video


def munge_payload_types(sdp: str, mapping: dict[int, int]) -> str:
    """Renumber payload types in an SDP (m-line formats, rtpmap/fmtp/rtcp-fb, apt=)."""

    def renumber(match: re.Match[str]) -> str:
        pt = int(match.group(2))
        return f"{match.group(1)}{mapping.get(pt, pt)}"

    lines = []
    for line in sdp.splitlines():
        if line.startswith("m="):
            parts = line.split(" ")
            line = " ".join(parts[:3] + [str(mapping.get(int(f), int(f))) for f in parts[3:]])
        else:
            line = re.sub(r"^(a=(?:rtpmap|fmtp|rtcp-fb):)(\d+)", renumber, line)
            line = re.sub(r"(apt=)(\d+)", renumber, line)
        lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def contiguous(seqs: list[int]) -> bool:
    """True if the (16-bit) sequence numbers cover a range with no hole."""
    if not seqs:
        return False
    first = seqs[0]
    offsets = sorted({(s - first) & 0xFFFF for s in seqs})
    return offsets == list(range(len(offsets)))
