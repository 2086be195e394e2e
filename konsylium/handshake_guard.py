"""Anonymous Engine.IO sessions: few, and short-lived.

An Engine.IO handshake (``/socket.io/`` without ``sid``) costs the node a
session before the client has shown any token. A session counts as anonymous
until it completes a Socket.IO CONNECT that the connect handler accepts (a
valid join token). Limits:

- an anonymous session is closed ``ANONYMOUS_DEADLINE`` seconds after it opened;
- at most ``MAX_ANONYMOUS_PER_NODE`` anonymous sessions on the node (more:
  ``503``), and ``MAX_ANONYMOUS_PER_PEER`` from one client address (more:
  ``429``), both problem+json with ``Retry-After``.

Behind a reverse proxy every client has the proxy's address; raise the
per-address limit there or make the proxy limit handshakes per client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import socketio
from aiohttp import web

from rooms.problem import problem_response

__all__ = [
    "ANONYMOUS_DEADLINE",
    "MAX_ANONYMOUS_PER_NODE",
    "MAX_ANONYMOUS_PER_PEER",
    "HandshakeGuard",
]

log = logging.getLogger(__name__)
ANONYMOUS_DEADLINE = 10.0
MAX_ANONYMOUS_PER_NODE = 500
MAX_ANONYMOUS_PER_PEER = 100  # an office or a hospital behind one address joining at nine
SWEEP_EVERY = 1.0
RETRY_AFTER = 5
ENGINEIO_PATH = "/socket.io/"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class HandshakeGuard:
    """Caps and deadline for Engine.IO sessions that have not joined with a token."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        joined: Callable[[], int],
        *,
        deadline: float = ANONYMOUS_DEADLINE,
        per_node: int = MAX_ANONYMOUS_PER_NODE,
        per_peer: int = MAX_ANONYMOUS_PER_PEER,
    ) -> None:
        self.sio = sio
        self.joined = joined  # how many sessions stand for a participant now (O(1): asked per handshake)
        self.deadline = deadline
        self.per_node = per_node
        self.per_peer = per_peer
        self._seen: dict[str, float] = {}  # Engine.IO sid -> when the sweep first saw it anonymous
        self.closed = 0

    def anonymous(self) -> dict[str, str | None]:
        """Engine.IO sids of sessions not (yet) connected to the namespace, with their peer address."""
        joined = {eio_sid for _, eio_sid in self.sio.manager.get_participants("/", None)}
        out: dict[str, str | None] = {}
        for eio_sid in list(self.sio.eio.sockets):
            if eio_sid not in joined:
                out[eio_sid] = self._peer(eio_sid)
        return out

    def _peer(self, eio_sid: str) -> str | None:
        environ = self.sio.environ.get(eio_sid)
        request = environ.get("aiohttp.request") if isinstance(environ, dict) else None
        return request.remote if isinstance(request, web.BaseRequest) else None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Refuse an Engine.IO handshake beyond the caps; end a connection Engine.IO failed on."""
        if request.path != ENGINEIO_PATH:
            return await handler(request)
        try:
            return await self._engineio(request, handler)
        except Exception as exc:
            # Engine.IO lets a garbage WebSocket frame escape its handler (after the upgrade):
            # one guarded line, no traceback, and the connection ends.
            logging.getLogger("engineio.server").error("Unexpected error", exc_info=exc)
            request.protocol.force_close()
            return web.Response(status=400)

    async def _engineio(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if "sid" in request.query or request.method != "GET":
            return await handler(request)
        # Counting is O(1); the per-address scan runs only when the node holds enough anonymous
        # sessions for one address to be at its cap (a handshake must stay cheap under churn).
        anonymous_count = len(self.sio.eio.sockets) - self.joined()
        if anonymous_count >= self.per_node:
            log.warning("engine.io handshake refused: %s anonymous sessions on the node", anonymous_count)
            return problem_response(503, "too many connections are starting; retry in a moment",
                                    headers={"Retry-After": str(RETRY_AFTER)})
        if anonymous_count >= self.per_peer and sum(
                1 for peer in self.anonymous().values() if peer == request.remote) >= self.per_peer:
            log.info("engine.io handshake refused: too many anonymous sessions from one address")
            return problem_response(429, "too many connections from your address are starting; retry later",
                                    headers={"Retry-After": str(RETRY_AFTER)})
        return await handler(request)

    async def sweep(self, now: float) -> None:
        """Close the anonymous sessions older than the deadline."""
        anonymous = self.anonymous()
        for eio_sid in list(self._seen):
            if eio_sid not in anonymous:
                del self._seen[eio_sid]
        for eio_sid in anonymous:
            first = self._seen.setdefault(eio_sid, now)
            if now - first >= self.deadline:
                del self._seen[eio_sid]
                self.closed += 1
                with contextlib.suppress(Exception):
                    await self.sio.eio.disconnect(eio_sid)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            try:
                await self.sweep(loop.time())
            except Exception as exc:  # the sweep must outlive an odd session
                log.warning("anonymous session sweep failed (%s)", type(exc).__name__)

    async def context(self, app: web.Application) -> AsyncIterator[None]:
        """Cleanup context running the sweep while the app runs."""
        task = asyncio.ensure_future(self._run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
