"""Revocations reach live sessions: the node's `RevocationSink`, and the watch on join windows.

The booking service announces a removed participant, a cancelled or ended room;
`LiveRevocation` ends what that covers on every surface: the Socket.IO edge tells
the sockets why and disconnects them, then the room service departs the members
and ends their WHIP and WHEP sessions. It also watches the join window of every
room with a live session and, when the window closes, ends what is not an ongoing
call (viewing sessions, members waiting to reconnect) — a call that runs over is not cut.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from rooms.clock import Clock
from rooms.model import Room, RoomStatus
from rooms.revocation import Revocation, RevocationReason
from rooms.store import RoomStore
from rooms.tokens import JoinWindow
from signalling.room_service import RoomService

__all__ = ["LiveRevocation", "SocketSessions"]

log = logging.getLogger(__name__)


class SocketSessions(Protocol):
    """The Socket.IO edge as revocation needs it."""

    async def end_sessions(self, revocation: Revocation) -> None: ...


class LiveRevocation:
    """End live sessions on revocation, and when a room's join window closes."""

    def __init__(
        self,
        service: RoomService,
        sockets: SocketSessions,
        store: RoomStore,
        window: JoinWindow,
        clock: Clock,
        spawn: Callable[[Awaitable[Any]], None],
    ) -> None:
        self.service = service
        self.sockets = sockets
        self.store = store
        self.window = window
        self.clock = clock
        self.spawn = spawn
        self._watches: dict[str, asyncio.TimerHandle] = {}

    async def revoke(self, revocation: Revocation) -> None:
        """End every live session *revocation* covers: sockets first (told why), then media."""
        await self.sockets.end_sessions(revocation)
        await self.service.revoke(revocation)
        log.info("revoked room=%s participant=%s reason=%s", revocation.room_id,
                 revocation.participant_id or "-", revocation.reason.value)

    def watch(self, room: Room) -> None:
        """Expire *room*'s non-call sessions when its join window closes (once per room)."""
        if room.id not in self._watches:
            self._schedule(room)

    def _schedule(self, room: Room) -> None:
        delay = (self.window.closes_at(room) - self.clock.now()).total_seconds()
        loop = asyncio.get_running_loop()
        self._watches[room.id] = loop.call_later(max(0.0, delay), lambda: self.spawn(self._expire(room.id)))

    async def _expire(self, room_id: str) -> None:
        self._watches.pop(room_id, None)
        room = await self.store.get_room(room_id)
        if room is None or room.status is not RoomStatus.SCHEDULED:
            return  # cancelled or ended: that revocation has run already
        if self.window.closes_at(room) > self.clock.now():
            self._schedule(room)  # rescheduled meanwhile: watch the new window
            return
        await self.revoke(Revocation(room_id, RevocationReason.TOKEN_EXPIRED))

    def close(self) -> None:
        for handle in self._watches.values():
            handle.cancel()
        self._watches.clear()
