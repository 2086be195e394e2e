"""The clinics REST API under /api/v1/clinics (docs/api.md, "Clinics"), with the tenant's API key.

Clinics and their clinicians, the clinic's consent texts (versioned), visits
booked for a clinic, dashboard links for its clinicians, and the clinic's queue
as it stands. Errors are problem+json like the rest of /api/v1.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from aiohttp import web

from rooms.api import PREFIX, idempotency_claim, read_json
from rooms.auth import ApiKeys
from rooms.clock import Clock
from rooms.errors import NotFound
from rooms.views import RoomViews, iso
from telemed.clinic_store import ClinicStore, Visit
from telemed.clinics import Clinic, ConsentVersion, parse_clinic, parse_consent, parse_dashboard_link, parse_visit
from telemed.dashboard_tokens import DashboardTokens
from telemed.visits import ClinicVisits

__all__ = ["ClinicApi", "clinic_view", "consent_view"]


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=json.dumps(data, ensure_ascii=False).encode(),
                        content_type="application/json", headers=headers)


def clinic_view(clinic: Clinic) -> dict[str, Any]:
    return {"id": clinic.id, "name": clinic.name,
            "clinicians": [{"id": c.id, "display_name": c.display_name} for c in clinic.clinicians],
            "consent_version": clinic.consent_version, "created_at": iso(clinic.created_at),
            "updated_at": iso(clinic.updated_at)}


def consent_view(consent: ConsentVersion) -> dict[str, Any]:
    return {"version": consent.version, "text": consent.text, "language": consent.language,
            "created_at": iso(consent.created_at)}


def visit_view(visit: Visit) -> dict[str, Any]:
    return {"clinic_id": visit.clinic_id, "clinician_id": visit.clinician_id, "patient_id": visit.patient_id}


async def _body_or_empty(request: web.Request) -> Any:
    """The JSON body, or an empty object when the request has no body at all (an empty POST)."""
    if not request.can_read_body:
        return {}
    return await read_json(request)


class ClinicApi:
    """Handlers of /api/v1/clinics, bound to the node's services."""

    def __init__(self, clinics: ClinicStore, visits: ClinicVisits, views: RoomViews, keys: ApiKeys,
                 dashboards: DashboardTokens, clock: Clock) -> None:
        self.clinics = clinics
        self.visits = visits
        self.views = views
        self.keys = keys
        self.dashboards = dashboards
        self.clock = clock

    def routes(self) -> list[web.RouteDef]:
        base = f"{PREFIX}/clinics"
        one = f"{base}/{{clinic_id}}"
        return [
            web.post(base, self.create),
            web.get(base, self.list_clinics, allow_head=False),
            web.get(one, self.get_clinic, allow_head=False),
            web.put(one, self.replace),
            web.post(f"{one}/consent", self.add_consent),
            web.get(f"{one}/consent", self.list_consents, allow_head=False),
            web.post(f"{one}/visits", self.book_visit),
            web.post(f"{one}/clinicians/{{clinician_id}}/dashboard-link", self.dashboard_link),
        ]

    def clinic_url(self, clinic: Clinic) -> str:
        return f"{self.views.public_url}{PREFIX}/clinics/{quote(clinic.id)}"

    def dashboard_url(self, clinic: Clinic, token: str) -> str:
        return f"{self.views.public_url}/clinic/{quote(clinic.id)}?t={token}"

    async def create(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        req = parse_clinic(await read_json(request))
        clinic = await self.clinics.create(tenant, req, self.clock.now())
        return _json(clinic_view(clinic), 201, {"Location": self.clinic_url(clinic)})

    async def list_clinics(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        return _json({"items": [clinic_view(c) for c in await self.clinics.all(tenant)]})

    async def get_clinic(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        return _json(clinic_view(await self.clinics.get(tenant, request.match_info["clinic_id"])))

    async def replace(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        await self.clinics.get(tenant, request.match_info["clinic_id"])  # 404 before 4xx body
        req = parse_clinic(await read_json(request))
        return _json(clinic_view(await self.clinics.replace(tenant, request.match_info["clinic_id"], req,
                                                            self.clock.now())))

    async def add_consent(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        clinic = await self.clinics.get(tenant, request.match_info["clinic_id"])
        req = parse_consent(await read_json(request))
        consent = await self.clinics.add_consent(tenant, clinic.id, req.text, req.language, self.clock.now())
        return _json(consent_view(consent), 201,
                     {"Location": f"{self.clinic_url(clinic)}/consent"})

    async def list_consents(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        versions = await self.clinics.consents(tenant, request.match_info["clinic_id"])
        return _json({"items": [consent_view(v) for v in versions],
                      "current": versions[-1].version if versions else None})

    async def book_visit(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        clinic_id = request.match_info["clinic_id"]
        await self.clinics.get(tenant, clinic_id)  # 404 before 4xx body
        body = await read_json(request)
        req = parse_visit(body)
        claim = idempotency_claim(request, tenant, f"POST /clinics/{clinic_id}/visits", body)
        stored, visit = await self.visits.book(tenant, clinic_id, req, claim)
        room = stored.value
        headers = {"Location": self.views.room_url(room)}
        if stored.replayed:
            headers["Idempotent-Replayed"] = "true"
        view = self.views.room(room, await self.visits.bookings.admissions([room]))
        return _json({**view, "visit": visit_view(visit)}, 201, headers)

    async def dashboard_link(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        clinic = await self.clinics.get(tenant, request.match_info["clinic_id"])
        clinician = clinic.clinician(request.match_info["clinician_id"])
        if clinician is None:
            raise NotFound("no clinician with this id in the clinic")
        req = parse_dashboard_link(await _body_or_empty(request))
        token, expires = self.dashboards.issue(clinic, clinician, req.ttl)
        return _json({"url": self.dashboard_url(clinic, token), "token": token, "expires_at": iso(expires)}, 201,
                     {"Cache-Control": "no-store"})

