"""The room-booking REST API under /api/v1 (CONTRACT.md §2); the live view and controls are
`signalling.live_api`'s."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from rooms.auth import ApiKeys
from rooms.booking import Bookings, encode_cursor, fingerprint
from rooms.errors import DomainError, FieldError, NotFound, ValidationFailed
from rooms.invite import invitation
from rooms.json_body import JsonRefused, load_json
from rooms.model import Participant, Room
from rooms.openapi import OpenApiPart, openapi_document
from rooms.requests import parse_booking, parse_list_filters, parse_participant, parse_patch
from rooms.store import IdempotencyClaim
from rooms.views import RoomViews

__all__ = ["PREFIX", "BookingApi", "idempotency_claim", "read_json"]

PREFIX = "/api/v1"
JSON_TYPES = ("application/json", "application/merge-patch+json")


class UnsupportedMediaType(DomainError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class MalformedJson(DomainError):
    status = 400
    slug = "malformed-json"
    title = "The body is not valid JSON"


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(data, ensure_ascii=False).encode(),
        content_type="application/json",
        headers=headers,
    )


async def read_json(request: web.Request) -> Any:
    """The request's JSON body, read strictly (`rooms.json_body`); 415 or 400 problems otherwise."""
    if request.content_type not in JSON_TYPES:
        raise UnsupportedMediaType("send the body as application/json")
    raw = await request.read()
    try:
        return load_json(raw)
    except JsonRefused as exc:
        raise MalformedJson(f"the body is not valid JSON: {exc}") from exc


def idempotency_claim(request: web.Request, tenant: str, scope: str, body: Any) -> IdempotencyClaim | None:
    """The Idempotency-Key of a write as a claim on *scope* (None without the header); 422 when malformed."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise ValidationFailed(
            [FieldError("/headers/Idempotency-Key", "must be 1 to 255 printable characters")]
        )
    return IdempotencyClaim(tenant, scope, key, fingerprint(body))


class BookingApi:
    """Handlers of the booking API, bound to the node's services."""

    def __init__(self, bookings: Bookings, views: RoomViews, keys: ApiKeys,
                 openapi_parts: Sequence[OpenApiPart] = ()) -> None:
        self.bookings = bookings
        self.views = views
        self.keys = keys
        self.openapi_parts = tuple(openapi_parts)  # other packages' paths under /api/v1 (konsylium/app.py)

    def routes(self) -> list[web.RouteDef]:
        rooms = f"{PREFIX}/rooms"
        one = f"{rooms}/{{room_id}}"
        return [
            web.get(f"{PREFIX}/openapi.json", self.openapi, allow_head=False),
            web.post(rooms, self.book),
            web.get(rooms, self.list_rooms, allow_head=False),
            web.get(one, self.get_room, allow_head=False),
            web.patch(one, self.edit_room),
            web.delete(one, self.cancel_room),
            web.post(f"{one}/participants", self.invite),
            web.get(f"{one}/participants/{{participant_id}}", self.get_participant,
                    allow_head=False),
            web.delete(f"{one}/participants/{{participant_id}}", self.remove),
            web.get(f"{one}/participants/{{participant_id}}/invite.ics", self.invite_ics,
                    allow_head=False),
            web.post(f"{one}/end", self.end_room),
            web.get(f"{one}/audit", self.audit, allow_head=False),
        ]

    async def _room_view(self, room: Room) -> dict[str, Any]:
        return self.views.room(room, await self.bookings.admissions([room]))

    async def _participant_view(self, room: Room, person: Participant) -> dict[str, Any]:
        return self.views.participant(room, person, (await self.bookings.admissions([room])).get(person.id))

    async def openapi(self, request: web.Request) -> web.Response:
        return _json(openapi_document(self.views.public_url, self.openapi_parts))

    async def book(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        body = await read_json(request)
        req = parse_booking(body)
        claim = idempotency_claim(request, tenant, "POST /rooms", body)
        stored = await self.bookings.book(tenant, req, claim)
        headers = {"Location": self.views.room_url(stored.value)}
        if stored.replayed:
            headers["Idempotent-Replayed"] = "true"
        return _json(await self._room_view(stored.value), 201, headers)

    async def list_rooms(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        filters = parse_list_filters(request.query)
        page = await self.bookings.list(tenant, filters)
        admissions = await self.bookings.admissions(page.rooms)
        return _json(
            {
                "items": [self.views.room(r, admissions) for r in page.rooms],
                "next_cursor": None if page.next_after is None else encode_cursor(page.next_after),
            }
        )

    async def get_room(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        room = await self.bookings.get(tenant, request.match_info["room_id"])
        return _json(await self._room_view(room))

    async def edit_room(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        await self.bookings.get(tenant, request.match_info["room_id"])  # 404 before 4xx body
        patch = parse_patch(await read_json(request))
        room = await self.bookings.edit(tenant, request.match_info["room_id"], patch)
        return _json(await self._room_view(room))

    async def cancel_room(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        await self.bookings.cancel(tenant, request.match_info["room_id"])
        return web.Response(status=204)

    async def end_room(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        await self.bookings.end(tenant, request.match_info["room_id"])
        return web.Response(status=204)

    async def invite(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        room_id = request.match_info["room_id"]
        await self.bookings.get(tenant, room_id)
        body = await read_json(request)
        req = parse_participant(body)
        claim = idempotency_claim(request, tenant, f"POST /rooms/{room_id}/participants", body)
        room, stored = await self.bookings.invite(tenant, room_id, req, claim)
        person = stored.value
        headers = {"Location": f"{self.views.room_url(room)}/participants/{person.id}"}
        if stored.replayed:
            headers["Idempotent-Replayed"] = "true"
        return _json(await self._participant_view(room, person), 201, headers)

    async def get_participant(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        room = await self.bookings.get(tenant, request.match_info["room_id"])
        person = room.participant(request.match_info["participant_id"])
        if person is None or not person.active:
            raise NotFound("no active participant with this id in the room")
        return _json(await self._participant_view(room, person))

    async def invite_ics(self, request: web.Request) -> web.Response:
        """The participant's calendar invitation (rooms.invite); not stored, so never cached."""
        tenant = self.keys.tenant_of(request)
        room = await self.bookings.get(tenant, request.match_info["room_id"])
        person = room.participant(request.match_info["participant_id"])
        if person is None or not person.active:
            raise NotFound("no active participant with this id in the room")
        join_url = self.views.join_url(room, self.views.tokens.issue(room, person))
        invite = invitation(room, person, join_url, self.views.public_url, self.bookings.clock.now())
        return web.Response(body=invite.body, headers={
            "Content-Type": f"text/calendar; charset=utf-8; method={invite.method}",
            "Content-Disposition": f'attachment; filename="{invite.filename}"',
            "Cache-Control": "no-store",  # it carries the participant's join token
        })

    async def audit(self, request: web.Request) -> web.Response:
        """The room's audit trail, entry by entry, with the verdict on its hash chain."""
        tenant = self.keys.tenant_of(request)
        room = await self.bookings.get(tenant, request.match_info["room_id"])
        entries, check = await self.bookings.store.audit_trail(room.id)
        return _json({"room_id": room.id, "entries": [e.as_json() for e in entries],
                      "verification": check.as_json()})

    async def remove(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        await self.bookings.remove(
            tenant, request.match_info["room_id"], request.match_info["participant_id"]
        )
        return web.Response(status=204)
