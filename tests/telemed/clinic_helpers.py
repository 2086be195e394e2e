"""Shared helpers of the clinic tests: a clinic with clinicians and a consent text, visits booked for it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import NOW, auth

CLINICIANS = [{"id": "lek-001", "display_name": "dr Anna Nowak"},
              {"id": "lek-002", "display_name": "dr Piotr Wiśniewski"}]
CONSENT = "Wyrażam zgodę na teleporadę.\nRozumiem, że mogę ją przerwać w każdej chwili."


async def make_clinic(client: TestClient[Any, Any], tenant: str = "portal", *, consent: bool = True,
                      name: str = "Poradnia POZ Śródmieście") -> dict[str, Any]:
    resp = await client.post("/api/v1/clinics", json={"name": name, "clinicians": CLINICIANS},
                             headers=auth(tenant))
    assert resp.status == 201, await resp.text()
    clinic: dict[str, Any] = await resp.json()
    if consent:
        resp = await client.post(f"/api/v1/clinics/{clinic['id']}/consent",
                                 json={"text": CONSENT, "language": "pl"}, headers=auth(tenant))
        assert resp.status == 201, await resp.text()
        clinic["consent_version"] = (await resp.json())["version"]
    return clinic


def visit_body(start: datetime = NOW + timedelta(hours=1), **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"starts_at": start.isoformat(), "ends_at": (start + timedelta(minutes=15)).isoformat(),
                            "patient": {"display_name": "Jan Kowalski"}}
    body.update(overrides)
    return body


async def book_visit(client: TestClient[Any, Any], clinic_id: str, tenant: str = "portal",
                     **overrides: Any) -> dict[str, Any]:
    resp = await client.post(f"/api/v1/clinics/{clinic_id}/visits", json=visit_body(**overrides),
                             headers=auth(tenant))
    assert resp.status == 201, await resp.text()
    room: dict[str, Any] = await resp.json()
    return room
