"""A message link between the front process and a media worker over one stream socket.

Frames are a 4-byte big-endian length and a JSON object: a call
``{"id", "call", "params"}``, its reply ``{"id", "result"}`` or
``{"id", "error": {"type", "message"}}``, or a one-way event
``{"event", "params"}``. Calls are served concurrently; events are handled one at a
time in arrival order, so what a room says to its clients keeps its order, by
a task of their own: an event handler may itself call the other side without
blocking the replies it waits for.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from signalling.errors import known_errors

__all__ = ["Link", "LinkClosed", "RemoteError"]

log = logging.getLogger(__name__)
HEADER = struct.Struct(">I")
MAX_FRAME = 8 * 1024 * 1024
Handler = Callable[[str, dict[str, Any]], Awaitable[Any]]



class LinkClosed(ConnectionError):
    """The other process is gone."""


class RemoteError(RuntimeError):
    """An unexpected failure on the other side (details are in that process's log)."""


class Link:
    """One end of the link."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_call: Handler | None = None,
        on_event: Handler | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._on_call = on_call
        self._on_event = on_event
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._events: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self._closed = False

    async def _send(self, message: dict[str, Any]) -> None:
        if self._closed:
            raise LinkClosed("the link is closed")
        data = json.dumps(message, separators=(",", ":")).encode()
        self._writer.write(HEADER.pack(len(data)) + data)
        await self._writer.drain()

    async def call(self, method: str, **params: Any) -> Any:
        """Call *method* on the other side and return its result (or raise its error)."""
        call_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        try:
            await self._send({"id": call_id, "call": method, "params": params})
            return await future
        finally:
            self._pending.pop(call_id, None)

    async def notify(self, event: str, **params: Any) -> None:
        await self._send({"event": event, "params": params})

    async def run(self) -> None:
        """Read and dispatch until the other side goes away."""
        events = asyncio.ensure_future(self._handle_events())
        self._tasks.add(events)
        try:
            while True:
                header = await self._reader.readexactly(HEADER.size)
                (size,) = HEADER.unpack(header)
                if size > MAX_FRAME:
                    raise ValueError(f"frame of {size} bytes is too large")
                message = json.loads(await self._reader.readexactly(size))
                await self._dispatch(message)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._closed = True
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(LinkClosed("the other process went away"))
            for task in list(self._tasks):
                task.cancel()

    async def _dispatch(self, message: dict[str, Any]) -> None:
        if "call" in message:
            task = asyncio.ensure_future(self._serve(message["id"], message["call"], message["params"]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif "event" in message:
            self._events.put_nowait((message["event"], message["params"]))
        else:
            future = self._pending.get(message["id"])
            if future is None or future.done():
                return
            if "error" in message:
                kind = known_errors().get(message["error"]["type"], RemoteError)
                future.set_exception(kind(message["error"]["message"]))
            else:
                future.set_result(message.get("result"))

    async def _handle_events(self) -> None:
        while True:
            name, params = await self._events.get()
            if self._on_event is None:
                continue
            try:
                await self._on_event(name, params)
            except Exception:
                log.exception("event handler failed event=%s", name)

    async def _serve(self, call_id: int, method: str, params: dict[str, Any]) -> None:
        try:
            assert self._on_call is not None, "this end serves no calls"
            result = await self._on_call(method, params)
            reply: dict[str, Any] = {"id": call_id, "result": result}
        except Exception as exc:
            if type(exc).__name__ not in known_errors():
                log.exception("call failed method=%s", method)
            reply = {"id": call_id, "error": {"type": type(exc).__name__, "message": str(exc)}}
        with contextlib.suppress(LinkClosed, ConnectionError):
            await self._send(reply)

    async def close(self) -> None:
        self._closed = True
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()
