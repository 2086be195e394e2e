"""Real clients for signalling tests: Socket.IO + aiortc peers with synthetic moving media."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import numpy as np
import pytest
import socketio
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from av import VideoFrame

from loadtests.media_clients import LOOPBACK
from loadtests.sources import ToneTrack
from sfu.aiortc_internals import configure_host_addresses

SDP = {"Content-Type": "application/sdp"}


def bearer(token: str) -> dict[str, str]:
    """Headers of a WHIP/WHEP request: the token and an SDP body."""
    return {"Authorization": f"Bearer {token}", **SDP}


async def post(url: str, body: str, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
    """POST *body*; return the status, the headers and the text of the response."""
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as resp:
        return resp.status, dict(resp.headers), await resp.text()


def client_pc() -> RTCPeerConnection:
    """A client peer connection that stays on this machine: no STUN, host candidates on loopback."""
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


async def local_description(pc: RTCPeerConnection, offer: bool = True) -> str:
    """Set and return the offer (or answer) with every candidate, gathered on 127.0.0.1 only."""
    configure_host_addresses(pc, LOOPBACK)
    await pc.setLocalDescription(await (pc.createOffer() if offer else pc.createAnswer()))
    return str(pc.localDescription.sdp)


async def until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def connect_error(url: str, auth_payload: Any) -> dict[str, Any]:
    """Connect and return the refusal's data (fails if the connection is accepted)."""
    sio = socketio.AsyncClient(reconnection=False)
    refused: dict[str, Any] = {}

    @sio.on("connect_error")
    def on_error(data: Any) -> None:
        refused.update(data if isinstance(data, dict) else {"message": data})

    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(url, auth=auth_payload, transports=["websocket"])
    await sio.disconnect()
    return refused


class MovingBar(VideoStreamTrack):
    """320x240 frames with a bar that moves: decoded frames differ from one to the next."""

    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        image = np.zeros((240, 320, 3), dtype=np.uint8)
        x = (self.n * 8) % 320
        image[:, x:x + 24] = (255, 255, 255)
        self.n += 1
        frame = VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts, frame.time_base = pts, time_base
        return frame


@dataclass
class Received:
    """Frames decoded from one remote track."""

    kind: str
    frames: int = 0
    distinct: set[bytes] = field(default_factory=set)


async def publish_offer(pc: RTCPeerConnection, video: bool = True, audio: bool = True) -> str:
    if video:
        pc.addTransceiver(MovingBar(), direction="sendonly")
    if audio:
        pc.addTransceiver(ToneTrack(), direction="sendonly")
    return await local_description(pc)


def consume(track: MediaStreamTrack, into: Received, tasks: set[asyncio.Task[Any]]) -> None:
    async def run() -> None:
        while True:
            try:
                frame = await track.recv()
            except Exception:
                return
            into.frames += 1
            if into.kind == "video" and len(into.distinct) < 50:
                into.distinct.add(frame.to_ndarray(format="gray").tobytes()[::97])

    task = asyncio.ensure_future(run())
    tasks.add(task)


class Client:
    """One participant: a Socket.IO connection, a publish and a subscribe peer connection."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.welcome: dict[str, Any] | None = None
        self.publisher: RTCPeerConnection | None = None
        self.subscriber: RTCPeerConnection | None = None
        self.received: dict[str, Received] = {}  # "<participant id>:<kind>" (or ":screen") -> frames
        self.mapping: dict[str, dict[str, str]] = {}
        self.auto_answer = True
        self.connection: str | None = None  # the server's id of the subscribe connection
        self._tasks: set[asyncio.Task[Any]] = set()
        for name in ("participant_joined", "participant_updated", "participant_left", "active_speaker",
                     "error"):
            self.sio.on(name, self._recorder(name))
        self.sio.on("welcome", self._welcome)
        self.sio.on("subscriber_offer", self._subscriber_offer)

    def _recorder(self, name: str) -> Callable[[Any], None]:
        def record(data: Any) -> None:
            self.events.append((name, data))
        return record

    def _welcome(self, data: Any) -> None:
        self.welcome = data
        self.events.append(("welcome", data))

    async def _subscriber_offer(self, data: Any) -> None:
        self.events.append(("subscriber_offer", data))
        if not self.auto_answer:
            return
        for item in data["tracks"]:
            self.mapping[item["mid"]] = item
        if self.subscriber is not None and data.get("connection") != self.connection:
            await self.subscriber.close()  # the server replaced the subscribe connection
            self.subscriber = None
        self.connection = data.get("connection")
        if self.subscriber is None:
            self.subscriber = client_pc()
            pc = self.subscriber

            @pc.on("track")
            def on_track(track: MediaStreamTrack) -> None:
                mid = next((t.mid for t in pc.getTransceivers() if t.receiver.track is track), None)
                item = self.mapping.get(mid or "", {})
                # a shared screen is a second video: "<participant id>:screen" beside ":video"
                key = f"{item.get('participant_id')}:{'screen' if item.get('source') == 'screen' else track.kind}"
                self.received[key] = Received(track.kind)
                consume(track, self.received[key], self._tasks)

        await self.subscriber.setRemoteDescription(RTCSessionDescription(data["sdp"], "offer"))
        answer = await local_description(self.subscriber, offer=False)
        ack = await self.sio.call("subscriber_answer", {"sdp": answer})
        assert ack["ok"], ack

    async def connect(self) -> None:
        await self.sio.connect(self.url, auth={"token": self.token}, transports=["websocket"])
        await until(lambda: self.welcome is not None, what="welcome")

    async def publish(self, video: bool = True, audio: bool = True) -> dict[str, Any]:
        self.publisher = client_pc()
        offer = await publish_offer(self.publisher, video, audio)
        ack: dict[str, Any] = await self.sio.call("publish", {"sdp": offer})
        if ack.get("ok"):
            await self.publisher.setRemoteDescription(RTCSessionDescription(ack["sdp"], "answer"))
        return ack

    def named(self, name: str) -> list[Any]:
        return [data for event, data in self.events if event == name]

    def video_from(self, participant_id: str) -> Received | None:
        return self.received.get(f"{participant_id}:video")

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.sio.connected:
            await self.sio.disconnect()
        for pc in (self.publisher, self.subscriber):
            if pc is not None:
                await pc.close()


class WhepViewer:
    """A WHEP client: receives one participant's audio and video and decodes them."""

    def __init__(self) -> None:
        self.pc = client_pc()
        self.pc.addTransceiver("video", direction="recvonly")
        self.pc.addTransceiver("audio", direction="recvonly")
        self.received: dict[str, Received] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self.received[track.kind] = Received(track.kind)
            consume(track, self.received[track.kind], self._tasks)

    async def offer(self) -> str:
        return await local_description(self.pc)

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    async def watch(self, whep_url: str, token: str) -> dict[str, str]:
        """POST this viewer's offer to *whep_url*, expect 201 and take the answer; return the response headers."""
        status, headers, answer = await post(whep_url, await self.offer(), bearer(token))
        assert status == 201, answer
        await self.accept(answer)
        return headers

    def video_moving(self) -> bool:
        return "video" in self.received and len(self.received["video"].distinct) > 3

    def audio_flowing(self) -> bool:
        return "audio" in self.received and self.received["audio"].frames > 10

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()
