"""The Socket.IO edge (docs/protocol.md): authenticate, seat, and relay messages to live rooms.

Every handler checks the message's shape and answers with an ack; a refused
message also gets an ``error`` event. Nothing a client sends can crash a room:
unexpected failures are logged with an id and answered ``internal``. Each socket
may send `RATE` messages per second (bursts of `BURST`); beyond that messages are
refused with ``rate_limited`` before they reach a room.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import socketio

from rooms.errors import DomainError, TokenNotYetValid
from rooms.model import Participant, Room
from rooms.revocation import Revocation, RevocationReason
from rooms.store import RoomStore
from rooms.tokens import JoinTokens
from signalling.errors import NotJoined, RateLimited, socket_code
from signalling.messages import MESSAGES, parse_message
from signalling.room_service import RoomService

__all__ = ["BURST", "RATE", "SocketApi", "SocketNotifier"]

log = logging.getLogger(__name__)
#: Messages per second one socket may send, sustained, and in a burst.
RATE = 10.0
BURST = 30.0
CONNECT_CODES = {
    "invalid-token": "invalid_token",
    "token-expired": "token_expired",
    "too-early": "too_early",
    "room-cancelled": "room_cancelled",
    "room-ended": "room_ended",
    "participant-removed": "participant_removed",
}


@dataclass(eq=False, slots=True)
class Seat:
    """Which room and participant a socket stands for."""

    room_id: str
    participant_id: str
    tokens: float = field(default=BURST, compare=False)
    refilled: float = field(default_factory=time.monotonic, compare=False)
    last_refusal: float = field(default=0.0, compare=False)

    def take(self) -> bool:
        """Spend one message from the socket's bucket; False when it is empty."""
        now = time.monotonic()
        self.tokens = min(BURST, self.tokens + (now - self.refilled) * RATE)
        self.refilled = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


def call_group(room_id: str) -> str:
    """The Socket.IO room of a live room's call: every socket of the room joins ``room_id`` (to be
    reset or revoked together); only those in the call join this group and hear the call."""
    return f"{room_id}#call"


class SocketNotifier:
    """Deliver live-room events over Socket.IO (the `Notifier` of production)."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def to_sid(self, sid: str, event: str, data: Any) -> None:
        await self.sio.emit(event, data, to=sid)

    async def to_room(self, room_id: str, event: str, data: Any, *, skip_sid: str | None = None) -> None:
        await self.sio.emit(event, data, room=call_group(room_id), skip_sid=skip_sid)

    async def reset_room(self, room_id: str) -> None:
        for sid, _ in list(self.sio.manager.get_participants("/", room_id)):
            await self.sio.disconnect(sid)

    async def drop(self, sid: str, code: str, message: str, event: str = "connect",
                   details: dict[str, Any] | None = None) -> None:
        await self.sio.emit("error", {**(details or {}), "code": code, "message": message, "event": event}, to=sid)
        await self.sio.disconnect(sid)

    async def enter_call(self, sid: str, room_id: str) -> None:
        await self.sio.enter_room(sid, call_group(room_id))

    async def leave_call(self, sid: str, room_id: str) -> None:
        await self.sio.leave_room(sid, call_group(room_id))


class SocketApi:
    """Socket.IO handlers bound to this node's live rooms."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        service: RoomService,
        tokens: JoinTokens,
        store: RoomStore,
        spawn: Callable[[Awaitable[Any]], None],
        on_message: Callable[[str], None] = lambda event: None,
        on_session: Callable[[Room], None] = lambda room: None,
    ) -> None:
        self.on_session = on_session  # told of every room a socket joins (its window is watched)
        self.sio = sio
        self.service = service
        self.tokens = tokens
        self.store = store
        self.spawn = spawn
        self.on_message = on_message
        self._members: dict[str, Seat] = {}
        sio.on("connect", self.connect)
        sio.on("disconnect", self.disconnect)
        for event in MESSAGES:
            sio.on(event, self._guarded(event))
        sio.on("*", self._unknown)

    def seated_count(self) -> int:
        """How many sockets stand for a participant now."""
        return len(self._members)

    async def end_sessions(self, revocation: Revocation) -> None:
        """Tell the sockets a revocation covers why, and disconnect them (no reconnect grace).

        A closed join window ends no socket: members in the call go on.
        """
        if revocation.reason is RevocationReason.TOKEN_EXPIRED:
            return
        ending = [sid for sid, seat in self._members.items()
                  if seat.room_id == revocation.room_id
                  and (revocation.whole_room or seat.participant_id == revocation.participant_id)]
        for sid in ending:
            del self._members[sid]
            await self.sio.emit("error", {"code": revocation.reason.value, "event": "session",
                                          "message": revocation.reason.message}, to=sid)
            await self.sio.disconnect(sid)
        if ending:
            log.info("sockets ended room=%s count=%s reason=%s", revocation.room_id, len(ending),
                     revocation.reason.value)

    # -- connection ------------------------------------------------------------

    async def connect(self, sid: str, environ: Any, auth: Any = None) -> None:
        self.on_message("connect")
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError(
                "a join token is required", {"code": "invalid_token",
                                             "message": "send auth: {token: <join token>}"},
            )
        try:
            grant = await self.tokens.verify(token, self.store)
        except DomainError as exc:
            data: dict[str, Any] = {"code": CONNECT_CODES.get(exc.slug, "invalid_token"),
                                    "message": exc.detail}
            if isinstance(exc, TokenNotYetValid):
                data["opens_at"] = exc.opens_at_iso
            log.info("socket refused code=%s", data["code"])
            raise socketio.exceptions.ConnectionRefusedError(exc.detail, data) from exc
        # Seat the member once the CONNECT packet is out (events sent from this
        # handler would reach the client before it counts itself connected).
        self.on_session(grant.room)
        self.spawn(self._seat(sid, grant.room, grant.participant))

    async def _seat(self, sid: str, room: Room, participant: Participant) -> None:
        await self.sio.enter_room(sid, room.id)
        self._members[sid] = Seat(room.id, participant.id)
        try:
            await self.service.arrive(room, participant, sid)
        except Exception as exc:
            code = socket_code(exc)
            if code is not None and isinstance(exc, DomainError):  # refused on purpose (a denied link)
                self._members.pop(sid, None)
                await self.sio.emit("error", {"code": code, "event": "connect", "message": exc.detail}, to=sid)
                await self.sio.disconnect(sid)
                return
            error_id = str(uuid.uuid4())
            log.exception("seating failed room=%s error_id=%s", room.id, error_id)
            self._members.pop(sid, None)
            await self.sio.emit("error", {"code": "internal", "event": "connect",
                                          "message": f"could not join; error id {error_id}"}, to=sid)
            await self.sio.disconnect(sid)

    async def disconnect(self, sid: str, *args: Any) -> None:
        seat = self._members.pop(sid, None)
        if seat is not None:
            await self.service.socket_lost(seat.room_id, seat.participant_id, sid)

    # -- messages ------------------------------------------------------------------

    def _guarded(self, event: str) -> Callable[..., Awaitable[dict[str, Any]]]:
        """The handler of one message event: seat, rate, shape, then the room; every outcome acked."""

        async def run(sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
            self.on_message(event)
            try:
                seat = self._members.get(sid)
                if seat is None:
                    raise NotJoined("wait for 'welcome' before sending messages")
                if not seat.take():
                    return await self._rate_limited(sid, seat, event)
                message = parse_message(event, data)
                reply = await self.service.deliver(seat.room_id, seat.participant_id, message)
                if message.ends_session:
                    self._end_seat(seat)
                return {"ok": True, **reply}
            except Exception as exc:
                code = socket_code(exc)
                if code is not None:
                    return await self._refuse(sid, event, code, exc.detail if isinstance(exc, DomainError)
                                              else str(exc))
                error_id = str(uuid.uuid4())
                log.exception("socket handler failed event=%s error_id=%s", event, error_id)
                return await self._refuse(sid, event, "internal",
                                          f"unexpected failure; error id {error_id}")

        return run

    def _end_seat(self, seat: Seat) -> None:
        """The member left on purpose: forget their sockets (no reconnect grace) and close them."""
        sids = [sid for sid, other in self._members.items() if other is seat]
        for sid in sids:
            del self._members[sid]
            self.spawn(self.sio.disconnect(sid))  # after the ack is queued

    async def _refuse(self, sid: str, event: str, code: str, message: str) -> dict[str, Any]:
        error = {"code": code, "message": message}
        await self.sio.emit("error", {**error, "event": event}, to=sid)
        return {"ok": False, "error": error}

    async def _rate_limited(self, sid: str, seat: Seat, event: str) -> dict[str, Any]:
        """Refuse a message over the rate; the ``error`` event at most once a second (the ack always)."""
        error = {"code": RateLimited.code, "message": f"at most {RATE:.0f} messages per second; slow down"}
        now = time.monotonic()
        if now - seat.last_refusal >= 1.0:
            seat.last_refusal = now
            await self.sio.emit("error", {**error, "event": event}, to=sid)
        return {"ok": False, "error": error}

    async def _unknown(self, event: str, sid: str, *args: Any) -> dict[str, Any]:
        self.on_message("unknown")
        seat = self._members.get(sid)
        if seat is not None and not seat.take():
            return await self._rate_limited(sid, seat, "unknown")
        return await self._refuse(sid, event[:40], "bad_request", f"unknown event {event[:40]!r}")
