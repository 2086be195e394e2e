"""The recording gate for the host system: ``GET /api/v1/rooms/{id}/recording`` and its start and stop.

The same messages as a host's in the call (`start_recording`, `stop_recording`), delivered with
no sender (the integrator), and the API-only `recording_view`: the gate's state and who answered
what, by participant id. A room nobody is in has no gate: it reads as not recording, and starting
it is refused like any start without everyone's agreement (409 ``recording-consent-missing``).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from rooms.api import PREFIX
from rooms.auth import ApiKeys
from rooms.booking import Bookings
from rooms.model import Room
from signalling.errors import NotJoined, RecordingConsentMissing
from signalling.messages import RecordingView, StartRecording, StopRecording
from signalling.room_service import RoomService

__all__ = ["IDLE", "RecordingApi"]

#: The gate of a room that is not live.
IDLE: dict[str, Any] = {"active": False, "since": None, "paused": False, "missing": [], "consents": []}


class RecordingApi:
    """Handlers of ``/api/v1/rooms/{room_id}/recording`` (and ``/start``, ``/stop``)."""

    def __init__(self, bookings: Bookings, keys: ApiKeys, rooms: RoomService) -> None:
        self.bookings = bookings
        self.keys = keys
        self.rooms = rooms

    def routes(self) -> list[web.RouteDef]:
        base = f"{PREFIX}/rooms/{{room_id}}/recording"
        return [
            web.get(base, self.view, allow_head=False),
            web.post(f"{base}/start", self.start),
            web.post(f"{base}/stop", self.stop),
        ]

    async def _room(self, request: web.Request) -> Room:
        return await self.bookings.get(self.keys.tenant_of(request), request.match_info["room_id"])

    async def view(self, request: web.Request) -> web.Response:
        room = await self._room(request)
        try:
            gate = await self.rooms.deliver(room.id, None, RecordingView())
        except NotJoined:
            gate = IDLE
        return _json({"room_id": room.id, **gate})

    async def start(self, request: web.Request) -> web.Response:
        room = await self._room(request)
        try:
            reply = await self.rooms.deliver(room.id, None, StartRecording())
        except NotJoined as exc:
            raise RecordingConsentMissing("nobody is in the call to agree (the room is not live now)") from exc
        return _json({"room_id": room.id, **reply["recording"]})

    async def stop(self, request: web.Request) -> web.Response:
        room = await self._room(request)
        try:
            await self.rooms.deliver(room.id, None, StopRecording())
        except NotJoined:
            pass  # not live: nothing records
        return web.Response(status=204)


def _json(data: Any) -> web.Response:
    return web.Response(body=json.dumps(data, ensure_ascii=False).encode(), content_type="application/json")
