"""The Socket.IO edge (docs/protocol.md): authenticate, seat, and relay messages to live rooms.

Every handler checks the message's shape and answers with an ack; a refused
message also gets an ``error`` event. Nothing a client sends can crash a room:
unexpected failures are logged with an id and answered ``internal``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import socketio

from rooms.errors import DomainError, TokenNotYetValid
from rooms.model import Participant, Room
from rooms.store import RoomStore
from rooms.tokens import JoinTokens
from sfu import InvalidAnswer, InvalidOffer
from signalling.live_room import Forbidden
from signalling.room_service import NotJoined, RoomService

__all__ = ["ClientError", "SocketApi", "SocketNotifier"]

log = logging.getLogger(__name__)
MAX_SDP = 64 * 1024
CONNECT_CODES = {
    "invalid-token": "invalid_token",
    "token-expired": "token_expired",
    "too-early": "too_early",
    "room-cancelled": "room_cancelled",
    "participant-removed": "participant_removed",
}


@dataclass(frozen=True, eq=False, slots=True)
class Seat:
    """Which room and participant a socket stands for."""

    room_id: str
    participant_id: str


class ClientError(Exception):
    """A message refused with a protocol error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class SocketNotifier:
    """Deliver live-room events over Socket.IO (the `Notifier` of production)."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def to_sid(self, sid: str, event: str, data: Any) -> None:
        await self.sio.emit(event, data, to=sid)

    async def to_room(self, room_id: str, event: str, data: Any, *, skip_sid: str | None = None) -> None:
        await self.sio.emit(event, data, room=room_id, skip_sid=skip_sid)

    async def reset_room(self, room_id: str) -> None:
        for sid, _ in list(self.sio.manager.get_participants("/", room_id)):
            await self.sio.disconnect(sid)

    async def drop(self, sid: str, code: str, message: str) -> None:
        await self.sio.emit("error", {"code": code, "message": message, "event": "connect"}, to=sid)
        await self.sio.disconnect(sid)


def _text(data: Any, name: str, limit: int = MAX_SDP) -> str:
    value = data.get(name) if isinstance(data, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise ClientError("bad_request", f"'{name}' must be a non-empty string")
    if len(value) > limit:
        raise ClientError("bad_request", f"'{name}' is longer than {limit} characters")
    return value


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
    ) -> None:
        self.sio = sio
        self.service = service
        self.tokens = tokens
        self.store = store
        self.spawn = spawn
        self.on_message = on_message
        self._members: dict[str, Seat] = {}
        sio.on("connect", self.connect)
        sio.on("disconnect", self.disconnect)
        handlers: dict[str, Callable[[Seat, Any], Awaitable[dict[str, Any]]]] = {
            "publish": self.publish,
            "unpublish": self.unpublish,
            "subscriber_answer": self.subscriber_answer,
            "mute": self.mute,
            "leave": self.leave,
        }
        for event, handler in handlers.items():
            sio.on(event, self._guarded(event, handler))
        sio.on("*", self._unknown)

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
        self.spawn(self._seat(sid, grant.room, grant.participant))

    async def _seat(self, sid: str, room: Room, participant: Participant) -> None:
        await self.sio.enter_room(sid, room.id)
        self._members[sid] = Seat(room.id, participant.id)
        try:
            await self.service.arrive(room, participant, sid)
        except Exception:
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

    def _guarded(
        self, event: str, handler: Callable[[Seat, Any], Awaitable[dict[str, Any]]]
    ) -> Callable[..., Awaitable[dict[str, Any]]]:
        async def run(sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
            self.on_message(event)
            try:
                seat = self._members.get(sid)
                if seat is None:
                    raise ClientError("not_joined", "wait for 'welcome' before sending messages")
                return {"ok": True, **await handler(seat, data)}
            except ClientError as exc:
                return await self._refuse(sid, event, exc.code, exc.message)
            except NotJoined as exc:
                return await self._refuse(sid, event, "not_joined", str(exc))
            except (InvalidOffer, InvalidAnswer) as exc:
                return await self._refuse(sid, event, "invalid_sdp", str(exc))
            except Forbidden as exc:
                return await self._refuse(sid, event, "forbidden", str(exc))
            except Exception:
                error_id = str(uuid.uuid4())
                log.exception("socket handler failed event=%s error_id=%s", event, error_id)
                return await self._refuse(sid, event, "internal",
                                          f"unexpected failure; error id {error_id}")

        return run

    async def _refuse(self, sid: str, event: str, code: str, message: str) -> dict[str, Any]:
        error = {"code": code, "message": message}
        await self.sio.emit("error", {**error, "event": event}, to=sid)
        return {"ok": False, "error": error}

    async def _unknown(self, event: str, sid: str, *args: Any) -> dict[str, Any]:
        self.on_message("unknown")
        return await self._refuse(sid, event, "bad_request", f"unknown event {event[:40]!r}")

    async def publish(self, seat: Seat, data: Any) -> dict[str, Any]:
        answer = await self.service.publish(seat.room_id, seat.participant_id, _text(data, "sdp"))
        return {"sdp": answer}

    async def unpublish(self, seat: Seat, data: Any) -> dict[str, Any]:
        await self.service.unpublish(seat.room_id, seat.participant_id)
        return {}

    async def subscriber_answer(self, seat: Seat, data: Any) -> dict[str, Any]:
        sdp = _text(data, "sdp")
        try:
            await self.service.subscriber_answer(seat.room_id, seat.participant_id, sdp)
        except ValueError as exc:
            raise ClientError("bad_request", str(exc)) from exc
        return {}

    async def mute(self, seat: Seat, data: Any) -> dict[str, Any]:
        kind = data.get("kind") if isinstance(data, dict) else None
        muted = data.get("muted") if isinstance(data, dict) else None
        if kind not in ("audio", "video") or not isinstance(muted, bool):
            raise ClientError("bad_request", "send {kind: 'audio' or 'video', muted: true or false}")
        await self.service.mute(seat.room_id, seat.participant_id, kind, muted)
        return {}

    async def leave(self, seat: Seat, data: Any) -> dict[str, Any]:
        sids = [sid for sid, other in self._members.items() if other is seat]
        for sid in sids:
            del self._members[sid]  # its disconnect is no network loss: no grace
        await self.service.leave(seat.room_id, seat.participant_id)
        for sid in sids:
            self.spawn(self.sio.disconnect(sid))  # after the ack is queued
        return {}
