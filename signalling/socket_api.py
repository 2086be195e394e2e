"""The Socket.IO edge (docs/protocol.md): authenticate, seat, and relay messages to live rooms.

Every handler checks the message's shape and answers with an ack; a refused
message also gets an ``error`` event. Nothing a client sends can crash a room:
unexpected failures are logged with an id and answered ``internal``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from rooms.errors import DomainError, TokenNotYetValid
from rooms.store import RoomStore
from rooms.tokens import JoinTokens
from sfu import InvalidAnswer, InvalidOffer
from signalling.live_room import Forbidden, LiveRoom, LiveRooms, Member

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

    async def to_member(self, member: Member, event: str, data: Any) -> None:
        if member.sid is not None:
            await self.sio.emit(event, data, to=member.sid)

    async def to_room(self, room: LiveRoom, event: str, data: Any, *, skip: Member | None = None) -> None:
        skip_sid = None if skip is None else skip.sid
        await self.sio.emit(event, data, room=room.id, skip_sid=skip_sid)

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
        rooms: LiveRooms,
        tokens: JoinTokens,
        store: RoomStore,
        on_message: Callable[[str], None] = lambda event: None,
    ) -> None:
        self.sio = sio
        self.rooms = rooms
        self.tokens = tokens
        self.store = store
        self.on_message = on_message
        self._members: dict[str, Member] = {}
        sio.on("connect", self.connect)
        sio.on("disconnect", self.disconnect)
        handlers: dict[str, Callable[[Member, Any], Awaitable[dict[str, Any]]]] = {
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
        self.rooms.spawn(self._seat(sid, grant.room, grant.participant))

    async def _seat(self, sid: str, room: Any, participant: Any) -> None:
        live = self.rooms.enter(room)
        member, resumed = await live.arrive(participant, sid)
        self._members[sid] = member
        await self.sio.enter_room(sid, live.id)
        others = [m.view() for m in live.others(member)]
        await self.sio.emit(
            "welcome",
            {"you": member.view(), "room": live.room_view(), "participants": others,
             "resumed": resumed},
            to=sid,
        )
        await live.renegotiate(member)

    async def disconnect(self, sid: str, *args: Any) -> None:
        member = self._members.pop(sid, None)
        if member is None or member.sid != sid:
            return
        live = self.rooms.get(member.room_id)
        if live is not None:
            live.socket_lost(member)

    # -- messages ------------------------------------------------------------------

    def _guarded(
        self, event: str, handler: Callable[[Member, Any], Awaitable[dict[str, Any]]]
    ) -> Callable[..., Awaitable[dict[str, Any]]]:
        async def run(sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
            self.on_message(event)
            try:
                member = self._members.get(sid)
                if member is None:
                    raise ClientError("not_joined", "wait for 'welcome' before sending messages")
                return {"ok": True, **await handler(member, data)}
            except ClientError as exc:
                return await self._refuse(sid, event, exc.code, exc.message)
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

    def _live(self, member: Member) -> LiveRoom:
        live = self.rooms.get(member.room_id)
        if live is None or live.member(member.id) is not member:
            raise ClientError("not_joined", "you are no longer in this room")
        return live

    async def publish(self, member: Member, data: Any) -> dict[str, Any]:
        sdp = _text(data, "sdp")
        answer = await self._live(member).publish(member, sdp)
        return {"sdp": answer}

    async def unpublish(self, member: Member, data: Any) -> dict[str, Any]:
        await self._live(member).unpublish(member)
        return {}

    async def subscriber_answer(self, member: Member, data: Any) -> dict[str, Any]:
        sdp = _text(data, "sdp")
        try:
            await self._live(member).subscriber_answered(member, sdp)
        except ValueError as exc:
            raise ClientError("bad_request", str(exc)) from exc
        return {}

    async def mute(self, member: Member, data: Any) -> dict[str, Any]:
        kind = data.get("kind") if isinstance(data, dict) else None
        muted = data.get("muted") if isinstance(data, dict) else None
        if kind not in ("audio", "video") or not isinstance(muted, bool):
            raise ClientError("bad_request", "send {kind: 'audio' or 'video', muted: true or false}")
        await self._live(member).set_muted(member, kind, muted)
        return {}

    async def leave(self, member: Member, data: Any) -> dict[str, Any]:
        live = self._live(member)
        sid = member.sid
        if sid is not None:
            self._members.pop(sid, None)
        await live.depart(member, "left")
        if sid is not None:
            self.rooms.spawn(self.sio.disconnect(sid))
        return {}
