"""A stopping node tells every connected socket why, then closes the sessions (an ``on_shutdown`` hook)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import socketio
from aiohttp import web

__all__ = ["SHUTDOWN_ERROR", "TELL_TIMEOUT", "tell_sockets"]

log = logging.getLogger(__name__)
TELL_TIMEOUT = 2.0
SHUTDOWN_ERROR = {
    "code": "server_shutdown",
    "event": "session",
    "message": "the server is stopping; reconnect in a moment",
}


def tell_sockets(sio: socketio.AsyncServer) -> Callable[[web.Application], Awaitable[None]]:
    """The hook: an ``error`` event ``server_shutdown`` to every socket, then close every session."""

    async def hook(app: web.Application) -> None:
        sids = [sid for sid, _ in sio.manager.get_participants("/", None)]
        log.info("telling %s sockets the node stops", len(sids))
        for sid in sids:
            with contextlib.suppress(Exception):
                await sio.emit("error", SHUTDOWN_ERROR, to=sid)
        try:
            await asyncio.wait_for(sio.eio.disconnect(), TELL_TIMEOUT)
        except (TimeoutError, ValueError):  # ValueError: asyncio.wait() of no sessions
            pass
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sio.shutdown(), TELL_TIMEOUT)

    return hook
