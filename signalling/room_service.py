"""The seam between the edges (Socket.IO, WHIP/WHEP) and the rooms' media.

Edges address rooms by id through a `RoomService`. `LocalRoomService` runs the
live rooms in this process; `signalling.workers.WorkerRoomService` runs each
room in the media worker process it is pinned to, through the same calls. A
multi-node router on Redis will be a third implementation.
"""

from __future__ import annotations

import itertools
from typing import Protocol

from rooms.model import Participant, Room
from sfu import Subscriber
from signalling.live_room import Forbidden, LiveRoom, LiveRooms, Member

__all__ = ["LocalRoomService", "MediaTotals", "NotJoined", "NotPublishing", "RoomService"]


class NotJoined(Exception):
    """The participant is not (or no longer) in the live room."""


class NotPublishing(Exception):
    """The participant asked for publishes nothing now."""


class MediaTotals(Protocol):
    packets_forwarded: int
    bytes_forwarded: int
    publishers: int
    subscribers: int


class RoomService(Protocol):
    """What the edges may ask of live rooms; every call names its room."""

    async def arrive(self, room: Room, participant: Participant, sid: str) -> None:
        """Seat a participant on socket *sid*; sends them ``welcome`` and media offers."""

    async def socket_lost(self, room_id: str, participant_id: str, sid: str) -> None: ...

    async def publish(self, room_id: str, participant_id: str, sdp: str) -> str: ...

    async def unpublish(self, room_id: str, participant_id: str) -> None: ...

    async def subscriber_answer(self, room_id: str, participant_id: str, sdp: str) -> None: ...

    async def mute(self, room_id: str, participant_id: str, kind: str, muted: bool) -> None: ...

    async def leave(self, room_id: str, participant_id: str) -> None: ...

    async def whip_publish(self, room: Room, participant: Participant, sdp: str) -> str:
        """Seat a socket-less participant and receive their media; return the answer."""

    async def whip_end(self, room_id: str, participant_id: str) -> None: ...

    async def whep_subscribe(self, room_id: str, participant_id: str, sdp: str) -> tuple[str, str]:
        """Answer a WHEP offer with *participant_id*'s media; return (answer, session key)."""

    async def whep_end(self, room_id: str, key: str) -> None: ...

    def totals(self) -> MediaTotals: ...

    async def start(self) -> None:
        """Get ready before the first room (optional: everything also starts on demand)."""

    async def close(self) -> None: ...


class LocalRoomService:
    """Live rooms in this process, on this process's SFU."""

    def __init__(self, rooms: LiveRooms) -> None:
        self.rooms = rooms
        self._whep: dict[str, Subscriber] = {}
        self._serial = itertools.count(1)

    def _member(self, room_id: str, participant_id: str) -> tuple[LiveRoom, Member]:
        live = self.rooms.get(room_id)
        member = None if live is None else live.member(participant_id)
        if live is None or member is None:
            raise NotJoined("you are no longer in this room")
        return live, member

    async def arrive(self, room: Room, participant: Participant, sid: str) -> None:
        live = self.rooms.enter(room)
        member, resumed = await live.arrive(participant, sid)
        await self.rooms.notifier.to_sid(sid, "welcome", live.welcome(member, resumed))
        await live.renegotiate(member)

    async def socket_lost(self, room_id: str, participant_id: str, sid: str) -> None:
        live = self.rooms.get(room_id)
        member = None if live is None else live.member(participant_id)
        if live is not None and member is not None:
            live.socket_lost(member, sid)

    async def publish(self, room_id: str, participant_id: str, sdp: str) -> str:
        live, member = self._member(room_id, participant_id)
        return await live.publish(member, sdp)

    async def unpublish(self, room_id: str, participant_id: str) -> None:
        live, member = self._member(room_id, participant_id)
        await live.unpublish(member)

    async def subscriber_answer(self, room_id: str, participant_id: str, sdp: str) -> None:
        live, member = self._member(room_id, participant_id)
        await live.subscriber_answered(member, sdp)

    async def mute(self, room_id: str, participant_id: str, kind: str, muted: bool) -> None:
        live, member = self._member(room_id, participant_id)
        await live.set_muted(member, kind, muted)

    async def leave(self, room_id: str, participant_id: str) -> None:
        live, member = self._member(room_id, participant_id)
        await live.depart(member, "left")

    async def whip_publish(self, room: Room, participant: Participant, sdp: str) -> str:
        if not participant.role.may_publish:
            raise Forbidden(f"a {participant.role.value} may not publish")
        live = self.rooms.enter(room)
        member, _ = await live.arrive(participant, None)
        member.whip_session = "whip"
        try:
            return await live.publish(member, sdp)
        except BaseException:
            if member.sid is None and member.publisher is None:
                await live.depart(member, "left")
            raise

    async def whip_end(self, room_id: str, participant_id: str) -> None:
        live, member = self._member(room_id, participant_id)
        member.whip_session = None
        if member.sid is None:
            await live.depart(member, "left")
        else:
            await live.unpublish(member)

    async def whep_subscribe(self, room_id: str, participant_id: str, sdp: str) -> tuple[str, str]:
        live = self.rooms.get(room_id)
        source = None if live is None else live.member(participant_id)
        publisher = None if source is None else source.publisher
        tracks = [] if publisher is None else [t for t in publisher.tracks if not t.ended]
        if not tracks:
            raise NotPublishing("that participant is not publishing now")
        subscriber = self.rooms.sfu.create_subscriber()
        try:
            answer = await subscriber.answer(sdp, tracks)
        except BaseException:
            await subscriber.close()
            raise
        key = f"whep-{next(self._serial)}"
        self._whep[key] = subscriber
        return answer, key

    async def whep_end(self, room_id: str, key: str) -> None:
        subscriber = self._whep.pop(key, None)
        if subscriber is not None:
            await subscriber.close()

    def totals(self) -> MediaTotals:
        return self.rooms.sfu.counters

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        for subscriber in self._whep.values():
            await subscriber.close()
        self._whep.clear()
        await self.rooms.close()
        await self.rooms.sfu.close()
