"""Property tests of the clinics API: any body is a 2xx or a 4xx problem, and a refusal changes nothing.

Like tests/api/test_bad_input_properties.py: hypothesis draws hostile bodies (fields
dropped or replaced by any JSON value, odd text, deep nesting, raw bytes) for every
body the clinics API reads, against one node per test function.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st

from tests.api.test_bad_input_properties import FAST, raw_bodies, refused, request_headers
from tests.conftest import auth
from tests.telemed.clinic_helpers import CLINICIANS, CONSENT, make_clinic, visit_body

Client = TestClient[Any, Any]


@pytest.fixture
async def clinic(client: Client) -> dict[str, Any]:
    return await make_clinic(client)


async def state(client: Client, clinic_id: str) -> tuple[Any, Any, Any]:
    clinics = await (await client.get("/api/v1/clinics", headers=auth())).json()
    consents = await (await client.get(f"/api/v1/clinics/{clinic_id}/consent", headers=auth())).json()
    rooms = await (await client.get("/api/v1/rooms", params={"limit": "200"}, headers=auth())).json()
    return clinics, consents, rooms["items"]


@FAST
@given(data=st.data())
async def test_any_clinic_body(client: Client, clinic: dict[str, Any], data: st.DataObject) -> None:
    body = data.draw(raw_bodies({"name": "Poradnia", "clinicians": CLINICIANS}))
    headers = request_headers(data.draw)
    before = await state(client, clinic["id"])
    put = data.draw(st.booleans())
    if put:
        resp = await client.put(f"/api/v1/clinics/{clinic['id']}", data=body, headers=headers)
    else:
        resp = await client.post("/api/v1/clinics", data=body, headers=headers)
    if await refused(resp):
        assert await state(client, clinic["id"]) == before
    else:
        assert resp.status == (200 if put else 201)


@FAST
@given(data=st.data())
async def test_any_consent_body(client: Client, clinic: dict[str, Any], data: st.DataObject) -> None:
    body = data.draw(raw_bodies({"text": CONSENT, "language": "pl"}))
    before = await state(client, clinic["id"])
    resp = await client.post(f"/api/v1/clinics/{clinic['id']}/consent", data=body, headers=request_headers(data.draw))
    if await refused(resp):
        assert await state(client, clinic["id"]) == before
    else:
        assert (await resp.json())["version"] == before[1]["current"] + 1


@FAST
@given(data=st.data())
async def test_any_visit_body(client: Client, clinic: dict[str, Any], data: st.DataObject) -> None:
    body = data.draw(raw_bodies(visit_body(clinician_id="lek-001", external_ref="HIS/7")))
    before = await state(client, clinic["id"])
    resp = await client.post(f"/api/v1/clinics/{clinic['id']}/visits", data=body, headers=request_headers(data.draw))
    if await refused(resp):
        assert await state(client, clinic["id"]) == before
    else:
        assert resp.status == 201
        assert (await resp.json())["kind"] == "consultation"


@FAST
@given(data=st.data())
async def test_any_dashboard_link_body(client: Client, clinic: dict[str, Any], data: st.DataObject) -> None:
    body = data.draw(st.one_of(st.just(b""), raw_bodies({"ttl_minutes": 60})))
    clinician = data.draw(st.sampled_from(["lek-001", "lek-002", "nobody", "%C4%85", "a" * 300]))
    resp = await client.post(f"/api/v1/clinics/{clinic['id']}/clinicians/{clinician}/dashboard-link", data=body,
                             headers=request_headers(data.draw))
    if not await refused(resp):
        assert resp.status == 201 and (await resp.json())["url"].startswith("https://video.example.org/clinic/")
