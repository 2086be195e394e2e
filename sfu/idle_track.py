"""A sender-side track that never yields frames: forwarded packets bypass the encoder."""

from __future__ import annotations

import asyncio
from typing import NoReturn

from aiortc import MediaStreamError, MediaStreamTrack

from .media import MediaKind

__all__ = ["IdleTrack"]


class IdleTrack(MediaStreamTrack):
    """Keeps an aiortc sender's RTP loop parked (no polling, no encoding) until stopped.

    Without a track, aiortc's sender polls every 20 ms; with this one it waits.
    """

    def __init__(self, kind: MediaKind) -> None:
        super().__init__()
        self.kind = kind.value
        self._stopped = asyncio.Event()

    async def recv(self) -> NoReturn:
        """Wait until the track is stopped, then end the sender's loop."""
        await self._stopped.wait()
        raise MediaStreamError

    def stop(self) -> None:
        """End the track (aiortc calls this when the sender stops)."""
        self._stopped.set()
        super().stop()
