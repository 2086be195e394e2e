"""The seam between the edges (Socket.IO, WHIP/WHEP) and the rooms' media.

Edges address rooms by id through a `RoomService`. `LocalRoomService` runs the
live rooms in this process; `signalling.workers.WorkerRoomService` runs each
room in the media worker process it is pinned to, through the same calls. A
multi-node router on Redis will be a third implementation.

WHIP and WHEP sessions live here, beside the rooms they belong to, so that a
revocation, a failed connection or a replaced publisher ends them in one place
and what one participant or one room may hold is counted where it is held.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

from rooms.model import Participant, Room
from rooms.revocation import Revocation, RevocationReason
from sfu import Publisher, Subscriber
from signalling.errors import Forbidden, NotJoined, NotPublishing, SessionEnded, TooManySessions
from signalling.live_room import LiveRoom, LiveRooms, Member
from signalling.messages import Message

__all__ = [
    "MAX_WHEP_PER_ROOM",
    "MAX_WHEP_PER_VIEWER",
    "LocalRoomService",
    "MediaTotals",
    "NotJoined",
    "NotPublishing",
    "RoomService",
]

#: WHEP sessions one participant's token may hold at once (a grid of a meeting's publishers).
MAX_WHEP_PER_VIEWER = 12
#: WHEP sessions one room may hold at once on its worker.
MAX_WHEP_PER_ROOM = 500
#: Ended session ids remembered, so a late DELETE learns why (410) instead of 404.
ENDED_REMEMBERED = 10_000


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

    async def deliver(self, room_id: str, sender_id: str | None, message: Message) -> dict[str, Any]:
        """Deliver a room message from participant *sender_id* (None: the integrator); return the ack's fields."""

    async def whip_publish(self, room: Room, participant: Participant, sdp: str) -> tuple[str, str]:
        """Seat a participant and receive their media; return (answer, session id)."""

    async def whep_subscribe(self, room: Room, viewer: Participant, source_id: str, sdp: str) -> tuple[str, str]:
        """Answer *viewer*'s WHEP offer with *source_id*'s media; return (answer, session id)."""

    async def end_session(self, room_id: str, session_id: str) -> None:
        """End a WHIP or WHEP session (its ``DELETE``); SessionEnded/NotJoined when it is gone."""

    async def revoke(self, revocation: Revocation) -> None:
        """End the media sessions and room members *revocation* covers (sockets are the edge's)."""

    def totals(self) -> MediaTotals: ...

    async def start(self) -> None:
        """Get ready before the first room (optional: everything also starts on demand)."""

    async def close(self) -> None: ...


@dataclass(eq=False, slots=True)
class _MediaSession:
    """One WHIP or WHEP session: whose it is and the connection it holds."""

    id: str
    kind: str  # "whip" or "whep"
    room_id: str
    participant_id: str  # whip: the publisher; whep: the viewer whose token opened it
    peer: Publisher | Subscriber


class LocalRoomService:
    """Live rooms in this process, on this process's SFU."""

    def __init__(self, rooms: LiveRooms) -> None:
        self.rooms = rooms
        self._sessions: dict[str, _MediaSession] = {}
        self._ended: OrderedDict[str, str] = OrderedDict()  # session id -> why it ended

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

    async def deliver(self, room_id: str, sender_id: str | None, message: Message) -> dict[str, Any]:
        if sender_id is None:
            live = self.rooms.get(room_id)
            if live is None:
                raise NotJoined("the room is not live now")
            return await live.deliver(None, message)
        live, member = self._member(room_id, sender_id)
        return await live.deliver(member, message)

    # -- WHIP and WHEP sessions ----------------------------------------------------

    def _open(self, kind: str, room_id: str, participant_id: str, peer: Publisher | Subscriber) -> str:
        session = _MediaSession(secrets.token_urlsafe(16), kind, room_id, participant_id, peer)
        self._sessions[session.id] = session
        peer.on_close.connect(lambda _: self._forget(session, "its connection closed"))
        return session.id

    def _forget(self, session: _MediaSession, why: str) -> None:
        if self._sessions.pop(session.id, None) is None:
            return
        self._ended[session.id] = why
        while len(self._ended) > ENDED_REMEMBERED:
            self._ended.popitem(last=False)

    async def _end(self, session: _MediaSession, why: str) -> None:
        self._forget(session, why)
        if session.kind == "whep":
            await session.peer.close()
            return
        live = self.rooms.get(session.room_id)
        member = None if live is None else live.member(session.participant_id)
        if live is None or member is None or member.publisher is not session.peer:
            await session.peer.close()  # replaced or departed already: only this connection goes
        elif member.sid is None:
            await live.depart(member, "left")  # a WHIP-only member has nothing left
        else:
            await live.unpublish(member)

    async def whip_publish(self, room: Room, participant: Participant, sdp: str) -> tuple[str, str]:
        if not participant.role.may_publish:
            raise Forbidden(f"a {participant.role.value} may not publish")
        live = self.rooms.enter(room)
        member, _ = await live.arrive(participant, None)
        try:
            answer = await live.publish(member, sdp)
        except BaseException:
            if member.sid is None and member.publisher is None:
                await live.depart(member, "left")
            raise
        assert member.publisher is not None
        for old in [s for s in self._sessions.values()
                    if s.kind == "whip" and s.room_id == room.id and s.participant_id == participant.id]:
            self._forget(old, "replaced by a newer WHIP session of the same participant")
        return answer, self._open("whip", room.id, participant.id, member.publisher)

    async def whep_subscribe(self, room: Room, viewer: Participant, source_id: str, sdp: str) -> tuple[str, str]:
        live = self.rooms.get(room.id)
        source = None if live is None else live.member(source_id)
        publisher = None if source is None else source.publisher
        tracks = [] if publisher is None else [t for t in publisher.tracks if not t.ended]
        if not tracks:
            raise NotPublishing("that participant is not publishing now")
        assert live is not None
        if not live.may_watch(viewer):
            raise Forbidden("you are waiting to be let in (or were not let in) to this meeting")
        held = [s for s in self._sessions.values() if s.kind == "whep" and s.room_id == room.id]
        if sum(s.participant_id == viewer.id for s in held) >= MAX_WHEP_PER_VIEWER:
            raise TooManySessions(f"one participant may hold at most {MAX_WHEP_PER_VIEWER} WHEP sessions; "
                                  "DELETE one first")
        if len(held) >= MAX_WHEP_PER_ROOM:
            raise TooManySessions(f"this room has its maximum of {MAX_WHEP_PER_ROOM} WHEP sessions")
        self.rooms.admit()
        subscriber = self.rooms.sfu.create_subscriber()
        session_id = self._open("whep", room.id, viewer.id, subscriber)  # counted while it negotiates
        try:
            answer = await subscriber.answer(sdp, tracks)
        except BaseException:
            await subscriber.close()  # which forgets the session
            raise
        self.rooms.expect_connection(subscriber)  # a WHIP publisher's deadline is set by the live room
        return answer, session_id

    async def end_session(self, room_id: str, session_id: str) -> None:
        session = self._sessions.get(session_id)
        if session is None or session.room_id != room_id:
            why = self._ended.get(session_id)
            if why is not None:
                raise SessionEnded(f"the session has ended: {why}")
            raise NotJoined("no such session")
        await self._end(session, "ended by its client")

    # -- revocation ------------------------------------------------------------------

    async def revoke(self, revocation: Revocation) -> None:
        expired = revocation.reason is RevocationReason.TOKEN_EXPIRED
        ending = [
            s for s in self._sessions.values()
            if s.room_id == revocation.room_id and (
                s.participant_id == revocation.participant_id
                # a closed window ends viewing sessions; publishers in the call go on
                or (revocation.whole_room and (s.kind == "whep" or not expired)))
        ]
        for session in ending:
            self._forget(session, revocation.reason.message)
        live = self.rooms.get(revocation.room_id)
        if live is not None:
            await live.revoke(revocation)  # departs members, closing their media
        for session in ending:
            await session.peer.close()

    def totals(self) -> MediaTotals:
        return self.rooms.sfu.counters

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        for session in list(self._sessions.values()):
            self._forget(session, "the server stopped")
            await session.peer.close()
        await self.rooms.close()
        await self.rooms.sfu.close()
