"""Rate-limited keyframe requests (PLI) toward one publisher track.

Subscribers ask for keyframes when they start and whenever they lose a picture;
a publisher must not be flooded. Requests within `interval` of the last PLI are
coalesced into one PLI sent when the interval has passed (delayed, never dropped).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

__all__ = ["KeyframeRequester"]

logger = logging.getLogger(__name__)


class KeyframeRequester:
    """Send at most one keyframe request per `interval` seconds through `send`."""

    def __init__(self, send: Callable[[], Awaitable[bool]], interval: float) -> None:
        self._send = send
        self._interval = interval
        self._last_sent: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.sent = 0

    @property
    def pending(self) -> bool:
        """True if a request is waiting for the interval to pass."""
        return self._timer is not None

    def request(self) -> None:
        """Ask for a keyframe now, or as soon as the rate limit allows."""
        if self._closed or self._timer is not None:
            return
        now = time.monotonic()
        if self._last_sent is None or now - self._last_sent >= self._interval:
            self._fire()
            return
        delay = self._last_sent + self._interval - now
        self._timer = asyncio.get_running_loop().call_later(delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        if self._closed:
            return
        self._last_sent = time.monotonic()
        task = asyncio.get_running_loop().create_task(self._run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self) -> None:
        try:
            if await self._send():
                self.sent += 1
            else:
                # Nothing to send to yet (no media SSRC known): allow a retry at once.
                self._last_sent = None
        except Exception:
            logger.exception("sending keyframe request failed")

    async def close(self) -> None:
        """Cancel a pending request and wait for one in flight."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
