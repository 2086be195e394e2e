"""A webhook receiver for tests: an aiohttp server on 127.0.0.1 in a thread of its own.

Every request is checked with the reference ``standardwebhooks`` package against
each secret the test gave it (which ones verify is recorded). It answers from a
script (a status, or ``HANG`` to hold the request), then 204. Like a real
integrator's application it de-duplicates by ``webhook-id``: `processed` holds
each message once, in the order first accepted.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

__all__ = ["HANG", "Received", "Receiver"]

HANG = -1


@dataclass
class Received:
    """One request as it arrived and what the receiver made of it."""

    headers: dict[str, str]
    body: bytes
    verified_with: list[int]  # indexes into Receiver.secrets of the secrets that verify it
    status: int = 0

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    script: list[int] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    path: str = "/hooks"
    requests: list[Received] = field(default_factory=list)
    processed: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _release: asyncio.Event | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        verified = []
        for index, secret in enumerate(list(self.secrets)):
            try:
                Webhook(secret).verify(body, headers)
                verified.append(index)
            except WebhookVerificationError:
                pass
        got = Received(headers, body, verified)
        with self._lock:
            self.requests.append(got)
            status = self.script.pop(0) if self.script else 204
        if status == HANG:
            assert self._release is not None
            try:
                await asyncio.wait_for(self._release.wait(), 30)
            except TimeoutError:
                pass
            got.status = 503
            return web.Response(status=503)
        if 200 <= status < 300 and verified:
            with self._lock:
                self.processed.setdefault(got.id, got.payload)  # the application: once per webhook-id
        got.status = status if verified else 400
        return web.Response(status=got.status)

    def start(self) -> Receiver:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._release = asyncio.Event()
            app = web.Application()
            app.router.add_post(self.path, self._handle)
            runner = web.AppRunner(app, access_log=None, handler_cancellation=False)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            server = site._server
            assert server is not None
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="webhook-receiver", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def release(self) -> None:
        """Let held (HANG) requests end."""
        if self._loop is not None and self._release is not None:
            self._loop.call_soon_threadsafe(self._release.set)

    def stop(self) -> None:
        self.release()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def seen(self) -> list[Received]:
        with self._lock:
            return list(self.requests)

    def wait(self, predicate: Callable[[Receiver], bool], timeout: float = 20) -> None:
        """Block until *predicate* holds (for tests whose server is another process)."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise TimeoutError(f"receiver saw {len(self.seen())} request(s)")
            time.sleep(0.02)

    async def until(self, predicate: Callable[[Receiver], bool], timeout: float = 20) -> None:
        """Wait without blocking the event loop (for tests whose node runs in this process)."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise TimeoutError(f"receiver saw {len(self.seen())} request(s)")
            await asyncio.sleep(0.02)
