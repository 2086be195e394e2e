"""Limits on what one HTTP connection may hold on the front, before any room logic runs.

- Header (and keep-alive idle) timeout: a connection that has not sent a whole
  request line and headers ``HEADER_TIMEOUT`` seconds after it opened, or after
  its previous response, is closed. aiohttp's keep-alive timer does exactly
  this (it closes a connection still waiting for a complete request), so it is
  set through `runner_options` and holds for tests' servers too.
- Body deadline: a request body must be complete ``BODY_TIMEOUT`` seconds after
  its headers; otherwise the client gets ``408`` problem+json and the
  connection is closed (`FrontGuard.middleware`).
- Connection cap: at most `FrontGuard.max_connections` open connections. A new
  connection beyond it closes the connection that has waited longest for a
  request (a half-open one, an idle keep-alive one); if every connection is busy
  with a request the new one gets ``503`` with ``Retry-After`` and is closed.
  Connections busy with a request (a WebSocket, a long poll) are never closed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from signalling.resources import open_files_limit

__all__ = [
    "BODY_TIMEOUT",
    "HEADER_TIMEOUT",
    "MAX_CONNECTIONS",
    "FrontGuard",
    "connection_cap",
]

log = logging.getLogger(__name__)
HEADER_TIMEOUT = 10.0
BODY_TIMEOUT = 30.0
MAX_CONNECTIONS = 8192
RETRY_AFTER = 1
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def connection_cap(open_files: int | None = None) -> int:
    """The connection cap: ``MAX_CONNECTIONS``, or half the open-files limit if that is lower."""
    files = open_files_limit() if open_files is None else open_files
    return max(8, min(MAX_CONNECTIONS, files // 2))


def _refusal() -> bytes:
    body = json.dumps({"type": "about:blank", "title": "Service Unavailable", "status": 503,
                       "detail": "too many connections; retry in a moment"}).encode()
    head = (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n"
            f"Retry-After: {RETRY_AFTER}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode() + body


REFUSAL = _refusal()


class _Guarded(asyncio.Protocol):
    """The protocol of one connection: aiohttp's, plus the guard's bookkeeping."""

    def __init__(self, guard: FrontGuard, inner: asyncio.Protocol) -> None:
        self.guard = guard
        self.inner = inner
        self.transport: asyncio.Transport | None = None
        self.busy = 0
        self.refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if not self.guard.admit(self):
            self.refused = True
            transport.write(REFUSAL)
            transport.close()
            return
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self.refused:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return None if self.refused else self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.forget(self)
        if not self.refused:
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if not self.refused:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if not self.refused:
            self.inner.resume_writing()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class FrontGuard:
    """The connection cap (a protocol factory wrapper) and the body deadline (a middleware)."""

    def __init__(self, *, max_connections: int | None = None, body_timeout: float = BODY_TIMEOUT) -> None:
        self.max_connections = max_connections or connection_cap()
        self.body_timeout = body_timeout
        self._open: set[_Guarded] = set()
        self._waiting: OrderedDict[_Guarded, None] = OrderedDict()  # oldest waiter for a request first
        self._by_inner: dict[int, _Guarded] = {}
        self.evicted = 0
        self.refused = 0

    # -- connections ---------------------------------------------------------------

    def protocol_factory(self, factory: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """Wrap aiohttp's protocol factory (the runner's ``server``) with the cap."""

        def make() -> asyncio.Protocol:
            return _Guarded(self, factory())

        return make

    @property
    def open_connections(self) -> int:
        return len(self._open)

    def busy_connections(self) -> int:
        return len(self._open) - len(self._waiting)

    async def drain(self, grace: float) -> None:
        """On stop: let requests in flight finish for up to *grace* seconds, then close every connection."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while self.busy_connections() and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for conn in list(self._open):
            conn.close()

    def admit(self, conn: _Guarded) -> bool:
        if len(self._open) >= self.max_connections:
            if not self._waiting:
                self.refused += 1
                return False
            victim, _ = self._waiting.popitem(last=False)
            self.evicted += 1
            self._drop(victim)
            victim.close()
        self._open.add(conn)
        self._waiting[conn] = None
        self._by_inner[id(conn.inner)] = conn
        return True

    def _drop(self, conn: _Guarded) -> None:
        self._open.discard(conn)
        self._waiting.pop(conn, None)
        if self._by_inner.get(id(conn.inner)) is conn:
            del self._by_inner[id(conn.inner)]

    def forget(self, conn: _Guarded) -> None:
        self._drop(conn)

    def _busy(self, protocol: object, delta: int) -> None:
        conn = self._by_inner.get(id(protocol))
        if conn is None or conn.inner is not protocol:
            return  # not a guarded connection (e.g. a test server without the cap)
        conn.busy += delta
        if conn.busy > 0:
            self._waiting.pop(conn, None)
        else:
            self._waiting[conn] = None

    # -- requests ------------------------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Mark the connection busy while its request runs; hold its body to the deadline."""
        protocol = request.protocol
        self._busy(protocol, +1)
        timer: asyncio.TimerHandle | None = None
        expired = False
        if not request.content.is_eof():
            def expire() -> None:
                nonlocal expired
                if not request.content.is_eof():
                    expired = True
                    request.content.set_exception(BodyTimeout())

            timer = asyncio.get_running_loop().call_later(self.body_timeout, expire)
        try:
            try:
                response = await handler(request)
            except Exception:
                if not expired:
                    raise
                return await self._too_slow(request)
            if expired:  # the handler turned the missing body into its own answer: replace it
                if response.prepared:
                    request.protocol.force_close()
                    return response
                return await self._too_slow(request)
            return response
        finally:
            if timer is not None:
                timer.cancel()
            self._busy(protocol, -1)

    async def _too_slow(self, request: web.Request) -> web.StreamResponse:
        """Answer 408 and close: the rest of the body will not be read."""
        log.info("request body too slow; connection closed")
        body = json.dumps({"type": "about:blank", "title": "Request Timeout", "status": 408,
                           "detail": f"the request body did not arrive within {self.body_timeout:g} s"}).encode()
        response = web.Response(status=408, body=body, content_type="application/problem+json",
                                headers={"Connection": "close"})
        response.force_close()
        await response.prepare(request)
        await response.write_eof()
        request.protocol.force_close()
        return response


class BodyTimeout(Exception):
    """The request body did not arrive in time (set on the body stream)."""


def runner_limits() -> dict[str, Any]:
    """The runner options that carry these limits (the header and keep-alive timeout)."""
    return {"keepalive_timeout": HEADER_TIMEOUT}
