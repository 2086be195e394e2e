"""The REST face of guest invites, under a room, with the tenant's key (docs/api.md, "Guest invites").

``POST /api/v1/rooms/{id}/invites`` makes one (its link is in the answer, and only there),
``GET`` lists the room's invites, ``DELETE …/invites/{invite_id}`` revokes an unused one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web

from rooms.api import PREFIX, read_json
from rooms.auth import ApiKeys
from rooms.errors import FieldError, ValidationFailed
from rooms.events import API
from rooms.guest_invite_service import GuestInvites, invite_view
from rooms.guest_invites import MAX_TTL, MIN_TTL, InviteStatus, Purpose

__all__ = ["GuestInviteApi", "InviteRequest", "parse_invite_request"]

MIN_MINUTES = int(MIN_TTL.total_seconds() // 60)
MAX_MINUTES = int(MAX_TTL.total_seconds() // 60)


@dataclass(frozen=True, slots=True)
class InviteRequest:
    purpose: Purpose
    ttl: timedelta


def parse_invite_request(body: Any) -> InviteRequest:
    """``{purpose, expires_in_minutes}``; ValidationFailed naming every bad field."""
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("", "must be a JSON object with purpose and expires_in_minutes")])
    errors: list[FieldError] = []
    purpose = body.get("purpose")
    if not isinstance(purpose, str) or purpose not in set(Purpose):
        errors.append(FieldError("/purpose", "must be one of: " + ", ".join(p.value for p in Purpose)))
    minutes = body.get("expires_in_minutes")
    if type(minutes) is not int or not MIN_MINUTES <= minutes <= MAX_MINUTES:
        errors.append(FieldError("/expires_in_minutes", f"must be a whole number of minutes from {MIN_MINUTES} "
                                                        f"to {MAX_MINUTES} (5 minutes to 5 hours)"))
    if errors:
        raise ValidationFailed(errors)
    assert isinstance(minutes, int) and isinstance(purpose, str)
    return InviteRequest(Purpose(purpose), timedelta(minutes=minutes))


class GuestInviteApi:
    """Handlers of ``/api/v1/rooms/{room_id}/invites``."""

    def __init__(self, invites: GuestInvites, keys: ApiKeys) -> None:
        self.invites = invites
        self.keys = keys

    def routes(self) -> list[web.RouteDef]:
        base = f"{PREFIX}/rooms/{{room_id}}/invites"
        return [
            web.post(base, self.create),
            web.get(base, self.list_invites, allow_head=False),
            web.delete(f"{base}/{{invite_id}}", self.revoke),
        ]

    async def create(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        room_id = request.match_info["room_id"]
        await self.invites.bookings.get(tenant, room_id)  # 404 before a 4xx about the body
        req = parse_invite_request(await read_json(request))
        issued = await self.invites.create(tenant, room_id, req.purpose, req.ttl, API)
        view = invite_view(issued.invite, InviteStatus.ACTIVE, issued.url)
        location = f"{self.invites.public_url}{PREFIX}/rooms/{room_id}/invites/{issued.invite.id}"
        return _json(view, 201, {"Location": location, "Cache-Control": "no-store"})

    async def list_invites(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        invites = await self.invites.list(tenant, request.match_info["room_id"])
        now = self.invites.clock.now()
        return _json({"items": [invite_view(i, i.status(now)) for i in invites]})

    async def revoke(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        await self.invites.revoke(tenant, request.match_info["room_id"], request.match_info["invite_id"], API)
        return web.Response(status=204)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=json.dumps(data, ensure_ascii=False).encode(),
                        content_type="application/json", headers=headers)
