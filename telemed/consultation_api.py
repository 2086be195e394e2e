"""``GET /api/v1/rooms/{room_id}/consultation``: how a visit went, for the tenant's scheduling system.

Readable only with the tenant's API key (another tenant's room, or a room that is no
consultation, is a 404 like one that does not exist): the outcome and the clinician's note
(telemed/visit_records.py), the timer's totals, and from the room's audit chain the identity
confirmations at admission and the patient's in-person requests (ids and times). The note is
shown as text by whoever displays it; nothing of this is logged.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from rooms.api import PREFIX
from rooms.auth import ApiKeys
from rooms.booking import Bookings
from rooms.errors import NotFound
from rooms.model import Kind
from telemed import visit_events
from telemed.visit_records import VisitRecords

__all__ = ["ConsultationApi"]


class ConsultationApi:
    """The handler of ``/api/v1/rooms/{room_id}/consultation``."""

    def __init__(self, bookings: Bookings, visits: VisitRecords, keys: ApiKeys) -> None:
        self.bookings = bookings
        self.visits = visits
        self.keys = keys

    def routes(self) -> list[web.RouteDef]:
        return [web.get(f"{PREFIX}/rooms/{{room_id}}/consultation", self.consultation, allow_head=False)]

    async def consultation(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        room = await self.bookings.get(tenant, request.match_info["room_id"])
        if room.kind is not Kind.CONSULTATION:
            raise NotFound("this room is not a consultation")
        record = await self.visits.read(room.id)
        entries, _ = await self.bookings.store.audit_trail(room.id)
        confirmations: list[dict[str, Any]] = []
        requests: list[dict[str, Any]] = []
        started_at = None if record is None or record.started_at is None else record.started_at.isoformat()
        for entry in entries:
            event = entry.as_json()["event"] or {}
            if entry.type == "lobby.admitted" and (event.get("data") or {}).get("identity_confirmed") is True:
                confirmations.append({"participant_id": event.get("participant_id"), "by": event.get("by"),
                                      "at": event.get("at")})
            elif entry.type == visit_events.IN_PERSON_REQUESTED:
                requests.append({"participant_id": event.get("participant_id"), "at": event.get("at")})
            elif entry.type == visit_events.STARTED and started_at is None:
                started_at = event.get("at")
        body = {
            "room_id": room.id,
            "outcome": None if record is None or record.outcome is None else record.outcome.value,
            "note": None if record is None else record.note,
            "completed_by": None if record is None else record.completed_by,
            "completed_at": None if record is None or record.completed_at is None else record.completed_at.isoformat(),
            "timer": {"started_at": started_at,
                      "in_call_seconds": None if record is None else record.in_call_seconds},
            "identity_confirmations": confirmations,
            "in_person_requests": requests,
        }
        return web.Response(body=json.dumps(body, ensure_ascii=False).encode(), content_type="application/json",
                            headers={"Cache-Control": "no-store"})
