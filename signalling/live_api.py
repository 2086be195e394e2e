"""Live controls for integrators: the REST face of a live room's host messages (docs/api.md).

Each request is authenticated by the tenant's API key, checked against the
tenant's rooms (another tenant's room is a 404, like one that does not exist),
and delivered to the live room as a message with no sender (the integrator):
the same messages, handlers and rules as a host's, in this process or in the
room's media worker. Errors are the live room's own (a `DomainError` carries its
HTTP status), answered as problem+json by the app's middleware.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from rooms.api import PREFIX, read_json
from rooms.auth import ApiKeys
from rooms.booking import Bookings
from rooms.errors import NotFound
from rooms.model import Room
from signalling.errors import BadRequest, NotJoined, NotWaiting
from signalling.messages import Message, parse_message
from signalling.room_service import RoomService

__all__ = ["LiveApi"]

NO_CONTENT = 204


class LiveApi:
    """Handlers of ``/api/v1/rooms/{id}/live`` and the live controls, bound to the node's rooms."""

    def __init__(self, bookings: Bookings, keys: ApiKeys, rooms: RoomService) -> None:
        self.bookings = bookings
        self.keys = keys
        self.rooms = rooms

    def routes(self) -> list[web.RouteDef]:
        one = f"{PREFIX}/rooms/{{room_id}}"
        person = f"{one}/participants/{{participant_id}}"
        return [
            web.get(f"{one}/live", self.live, allow_head=False),
            web.post(f"{person}/admit", self.admit),
            web.post(f"{person}/deny", self.deny),
            web.post(f"{person}/mute", self.mute),
            web.post(f"{one}/lock", self.lock),
            web.post(f"{one}/unlock", self.unlock),
        ]

    async def _room(self, request: web.Request) -> Room:
        tenant = self.keys.tenant_of(request)
        return await self.bookings.get(tenant, request.match_info["room_id"])

    async def _participant(self, request: web.Request) -> tuple[Room, str]:
        """The tenant's room and the id of one of its active participants (404 otherwise)."""
        room = await self._room(request)
        person = room.participant(request.match_info["participant_id"])
        if person is None or not person.active:
            raise NotFound("no active participant with this id in the room")
        return room, person.id

    async def _deliver(self, room: Room, name: str, fields: dict[str, Any]) -> dict[str, Any]:
        message: Message = parse_message(name, fields)
        return await self.rooms.deliver(room.id, None, message)

    async def live(self, request: web.Request) -> web.Response:
        room = await self._room(request)
        try:
            view = await self._deliver(room, "live_view", {})
        except NotJoined:  # nobody is there: the room is not live now
            view = {"participants": [], "locked": False}
        return _json({"room_id": room.id, **view})

    async def admit(self, request: web.Request) -> web.Response:
        room, participant_id = await self._participant(request)
        try:
            await self._deliver(room, "admit", {"participant_id": participant_id})
        except NotJoined as exc:
            raise NotWaiting("that participant is not waiting in the lobby (the room is not live now)") from exc
        return web.Response(status=NO_CONTENT)

    async def deny(self, request: web.Request) -> web.Response:
        room, participant_id = await self._participant(request)
        body = await _optional_object(request)
        try:
            await self._deliver(room, "deny", {**body, "participant_id": participant_id})
        except NotJoined as exc:
            raise NotWaiting("that participant is not waiting in the lobby (the room is not live now)") from exc
        return web.Response(status=NO_CONTENT)

    async def mute(self, request: web.Request) -> web.Response:
        room, participant_id = await self._participant(request)
        body = _object(await read_json(request), "kind")
        try:
            await self._deliver(room, "mute_participant", {**body, "participant_id": participant_id})
        except NotJoined as exc:
            raise NotJoined("that participant is not in the call now") from exc
        return web.Response(status=NO_CONTENT)

    async def lock(self, request: web.Request) -> web.Response:
        room = await self._room(request)
        try:
            await self._deliver(room, "lock", {})
        except NotJoined as exc:
            raise NotJoined("the room is not live now: lock it once someone has joined") from exc
        return web.Response(status=NO_CONTENT)

    async def unlock(self, request: web.Request) -> web.Response:
        room = await self._room(request)
        try:
            await self._deliver(room, "unlock", {})
        except NotJoined:
            pass  # not live: a room starts unlocked
        return web.Response(status=NO_CONTENT)


def _object(body: Any, fields: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest(f"send a JSON object with {fields}")
    return body


async def _optional_object(request: web.Request) -> dict[str, Any]:
    """The JSON object of an optional body: none (empty) is ``{}``."""
    if not await request.read():
        return {}
    return _object(await read_json(request), "message")


def _json(data: Any) -> web.Response:
    return web.Response(body=json.dumps(data, ensure_ascii=False).encode(), content_type="application/json")
