"""A browser-like participant for the load generator: Socket.IO signalling, two connections.

It joins with its join token as the browser client does (docs/protocol.md), publishes a
`SyntheticPublisher` on its publish connection when it may, and answers every
`subscriber_offer` of the server on one light `CountingSubscriber` (counting every stream
the room sends it per SSRC); a new subscribe connection id replaces that subscriber.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import socketio

from loadtests.media_clients import CountingSubscriber, SyntheticPublisher

__all__ = ["SignallingError", "SocketParticipant"]


class SignallingError(RuntimeError):
    """The server refused a call (its `{ok: false, error}` answer) or never welcomed us."""


class SocketParticipant:
    """One participant over Socket.IO; use `join`, then `publish` if it publishes, then `close`."""

    def __init__(self, url: str, token: str, codec: str = "vp8") -> None:
        self.url = url
        self.token = token
        self.codec = codec
        self.sio = socketio.AsyncClient(reconnection=False)
        self.welcome: dict[str, Any] | None = None
        self.publisher: SyntheticPublisher | None = None
        self.subscriber: CountingSubscriber | None = None
        self.connection: str | None = None
        self.joined_at = 0.0
        self.expects_media = True  # False for someone alone in publishing (a broadcast's host)
        self.errors: list[Any] = []
        self._welcomed = asyncio.Event()
        self._answering = asyncio.Lock()  # offers are answered one at a time, in order
        self.sio.on("welcome", self._on_welcome)
        self.sio.on("subscriber_offer", self._on_subscriber_offer)
        self.sio.on("error", self.errors.append)

    @property
    def participant_id(self) -> str:
        return str((self.welcome or {}).get("you", {}).get("id", ""))

    @property
    def first_keyframe_at(self) -> float | None:
        return None if self.subscriber is None else self.subscriber.first_keyframe_at

    async def _on_welcome(self, data: dict[str, Any]) -> None:
        self.welcome = data
        self._welcomed.set()

    async def _on_subscriber_offer(self, data: dict[str, Any]) -> None:
        async with self._answering:
            if self.subscriber is not None and data.get("connection") != self.connection:
                await self.subscriber.close()  # the server replaced the subscribe connection
                self.subscriber = None
            self.connection = data.get("connection")
            if self.subscriber is None:
                self.subscriber = CountingSubscriber(light=True, codec=self.codec)
            answer = await self.subscriber.answer(str(data["sdp"]))
            ack = await self.sio.call("subscriber_answer", {"sdp": answer})
            if not ack.get("ok"):
                self.errors.append(ack)

    async def join(self, timeout: float = 20.0) -> None:
        self.joined_at = time.monotonic()
        await self.sio.connect(self.url, auth={"token": self.token}, transports=["websocket"])
        try:
            await asyncio.wait_for(self._welcomed.wait(), timeout)
        except TimeoutError:
            raise SignallingError(f"no welcome within {timeout:g} s") from None

    async def publish(self, publisher: SyntheticPublisher) -> None:
        self.publisher = publisher
        ack = await self.sio.call("publish", {"sdp": await publisher.offer()})
        if not ack.get("ok"):
            raise SignallingError(f"publish refused: {ack.get('error')}")
        await publisher.accept(str(ack["sdp"]))

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
        for peer in (self.subscriber, self.publisher):
            if peer is not None:
                await peer.close()
