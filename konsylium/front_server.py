"""Run the node's application on a listening socket until SIGTERM or SIGINT, then stop promptly.

This is ``web.run_app`` with the front's connection cap in the protocol factory
(`FrontGuard`), an accept batch bounded by the open-files limit, and a short
shutdown: stop accepting, run the app's ``on_shutdown`` hooks (they tell every
connected socket and disconnect it), give requests in flight ``DRAIN_GRACE``
seconds, close every connection still open (a client that does not close its
WebSocket when told), then run the cleanup (media workers, store).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from typing import Any

from aiohttp import web

from konsylium.front_guard import FrontGuard

__all__ = ["SHUTDOWN_TIMEOUT", "run_front"]

log = logging.getLogger(__name__)
SHUTDOWN_TIMEOUT = 2.0
DRAIN_GRACE = 1.0
MAX_ACCEPT_BATCH = 1024


async def _serve(app: web.Application, sock: socket.socket, guard: FrontGuard, options: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    async def drain(app: web.Application) -> None:
        await guard.drain(DRAIN_GRACE)  # after the app's hooks told and disconnected every socket

    app.on_shutdown.append(drain)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT, **options)
    await runner.setup()
    server: asyncio.Server | None = None
    try:
        assert runner.server is not None
        backlog = max(16, min(MAX_ACCEPT_BATCH, guard.max_connections // 2))
        server = await loop.create_server(guard.protocol_factory(runner.server), sock=sock, backlog=backlog)
        log.info("accepting connections max_connections=%s", guard.max_connections)
        await stop.wait()
        log.info("stopping: no new connections, telling connected clients")
    finally:
        if server is not None:
            server.close()
        await runner.cleanup()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    log.info("stopped")


def run_front(app: web.Application, sock: socket.socket, guard: FrontGuard, **options: Any) -> None:
    """Serve *app* on *sock* with *guard*'s cap until SIGTERM/SIGINT (``options`` go to the runner)."""
    asyncio.run(_serve(app, sock, guard, options))
