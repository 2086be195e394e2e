"""The clinics API: clinics and clinicians, versioned consent texts, visits, dashboard links."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
from aiohttp.test_utils import TestClient

from tests.conftest import NOW, SECRET, auth
from tests.telemed.clinic_helpers import CLINICIANS, CONSENT, book_visit, make_clinic, visit_body

Client = TestClient[Any, Any]


async def test_a_clinic_is_created_read_listed_and_replaced(client: Client) -> None:
    clinic = await make_clinic(client, consent=False)
    assert clinic["name"] == "Poradnia POZ Śródmieście"
    assert clinic["clinicians"] == CLINICIANS
    assert clinic["consent_version"] is None
    resp = await client.get(f"/api/v1/clinics/{clinic['id']}", headers=auth())
    assert (await resp.json())["id"] == clinic["id"]
    listed = await (await client.get("/api/v1/clinics", headers=auth())).json()
    assert [c["id"] for c in listed["items"]] == [clinic["id"]]
    resp = await client.put(f"/api/v1/clinics/{clinic['id']}", headers=auth(), json={
        "name": "Poradnia POZ", "clinicians": [CLINICIANS[1], {"id": "lek-003", "display_name": "dr Ewa Lis"}]})
    assert resp.status == 200, await resp.text()
    replaced = await resp.json()
    assert replaced["name"] == "Poradnia POZ"
    assert [c["id"] for c in replaced["clinicians"]] == ["lek-002", "lek-003"]
    # a clinician left out and put back again is the same id
    resp = await client.put(f"/api/v1/clinics/{clinic['id']}", headers=auth(),
                            json={"name": "Poradnia POZ", "clinicians": CLINICIANS})
    assert [c["id"] for c in (await resp.json())["clinicians"]] == ["lek-001", "lek-002"]


async def test_another_tenants_clinic_is_absent(client: Client) -> None:
    clinic = await make_clinic(client)
    for method, path in [("GET", ""), ("PUT", ""), ("GET", "/consent"), ("POST", "/consent"),
                         ("POST", "/visits"), ("POST", "/clinicians/lek-001/dashboard-link")]:
        resp = await client.request(method, f"/api/v1/clinics/{clinic['id']}{path}", headers=auth("clinic"),
                                    json={})
        assert resp.status == 404, (method, path)
        assert resp.content_type == "application/problem+json"
    assert (await (await client.get("/api/v1/clinics", headers=auth("clinic"))).json())["items"] == []


async def test_no_key_no_clinics(client: Client) -> None:
    resp = await client.get("/api/v1/clinics")
    assert resp.status == 401
    assert resp.content_type == "application/problem+json"


async def test_consent_texts_are_versioned(client: Client) -> None:
    clinic = await make_clinic(client, consent=False)
    url = f"/api/v1/clinics/{clinic['id']}/consent"
    assert (await (await client.get(url, headers=auth())).json()) == {"items": [], "current": None}
    for n, text in enumerate([CONSENT, "Consent to a video visit.\n\nSecond paragraph."], start=1):
        resp = await client.post(url, json={"text": text, "language": "pl" if n == 1 else "en-GB"}, headers=auth())
        assert resp.status == 201, await resp.text()
        assert (await resp.json())["version"] == n
    listed = await (await client.get(url, headers=auth())).json()
    assert [v["version"] for v in listed["items"]] == [1, 2]
    assert listed["items"][0]["text"] == CONSENT
    assert listed["current"] == 2
    assert (await (await client.get(f"/api/v1/clinics/{clinic['id']}", headers=auth())).json())["consent_version"] == 2


async def test_a_clinic_without_consent_takes_no_visits(client: Client) -> None:
    clinic = await make_clinic(client, consent=False)
    resp = await client.post(f"/api/v1/clinics/{clinic['id']}/visits", json=visit_body(), headers=auth())
    assert resp.status == 409
    problem = await resp.json()
    assert problem["type"].endswith("consent-missing")
    assert "consent" in problem["detail"]


async def test_a_visit_books_a_consultation_with_the_patient_and_the_clinician(client: Client) -> None:
    clinic = await make_clinic(client)
    room = await book_visit(client, clinic["id"], clinician_id="lek-002", external_ref="HIS/1")
    assert room["kind"] == "consultation" and room["model"] == "A2C"
    assert room["title"] == clinic["name"]
    assert room["external_ref"] == "HIS/1"
    people = room["participants"]
    assert [(p["display_name"], p["role"], p["party"]) for p in people] == [
        ("Jan Kowalski", "member", "citizen"), ("dr Piotr Wiśniewski", "host", "administration")]
    assert all(p["join_url"].startswith("https://video.example.org/join/") for p in people)
    assert room["visit"] == {"clinic_id": clinic["id"], "clinician_id": "lek-002", "patient_id": people[0]["id"]}
    # it is an ordinary room of the booking API too
    resp = await client.get(f"/api/v1/rooms/{room['id']}", headers=auth())
    assert resp.status == 200
    alone = await book_visit(client, clinic["id"], title="Teleporada")
    assert [p["party"] for p in alone["participants"]] == ["citizen"]
    assert alone["title"] == "Teleporada"
    assert alone["visit"]["clinician_id"] is None


async def test_a_visit_for_an_unknown_clinician_is_refused(client: Client) -> None:
    clinic = await make_clinic(client)
    resp = await client.post(f"/api/v1/clinics/{clinic['id']}/visits", json=visit_body(clinician_id="nobody"),
                             headers=auth())
    assert resp.status == 422
    assert [e["pointer"] for e in (await resp.json())["errors"]] == ["/clinician_id"]


async def test_booking_a_visit_twice_with_one_key_books_once(client: Client) -> None:
    clinic = await make_clinic(client)
    headers = {**auth(), "Idempotency-Key": "visit-1"}
    first = await client.post(f"/api/v1/clinics/{clinic['id']}/visits", json=visit_body(), headers=headers)
    again = await client.post(f"/api/v1/clinics/{clinic['id']}/visits", json=visit_body(), headers=headers)
    assert first.status == again.status == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await first.json())["id"] == (await again.json())["id"]
    assert (await again.json())["visit"]["patient_id"] == (await first.json())["visit"]["patient_id"]


async def test_bad_bodies_name_every_bad_field(client: Client) -> None:
    resp = await client.post("/api/v1/clinics", json={"name": "", "clinicians": [{"id": "a"}, {"id": "a",
                             "display_name": "x"}, {"id": "a", "display_name": "y"}]}, headers=auth())
    assert resp.status == 422
    pointers = [e["pointer"] for e in (await resp.json())["errors"]]
    assert pointers == ["/name", "/clinicians/0/display_name", "/clinicians/2/id"]
    clinic = await make_clinic(client)
    resp = await client.post(f"/api/v1/clinics/{clinic['id']}/consent", json={"text": "a\u202eb", "language": "x"},
                             headers=auth())
    assert [e["pointer"] for e in (await resp.json())["errors"]] == ["/text", "/language"]
    resp = await client.post(f"/api/v1/clinics/{clinic['id']}/visits", headers=auth(), json={
        "starts_at": "tomorrow", "ends_at": (NOW + timedelta(hours=1)).isoformat(), "patient": {"display_name": ""}})
    assert [e["pointer"] for e in (await resp.json())["errors"]] == ["/starts_at", "/patient/display_name"]
    resp = await client.post(f"/api/v1/clinics/{clinic['id']}/visits", headers=auth(),
                             json=visit_body(start=NOW - timedelta(hours=2)))
    assert resp.status == 422  # over before it starts
    resp = await client.post("/api/v1/clinics", data=b"{", headers={**auth(), "Content-Type": "application/json"})
    assert resp.status == 400


async def test_a_dashboard_link_is_a_short_lived_clinic_token(client: Client) -> None:
    clinic = await make_clinic(client)
    url = f"/api/v1/clinics/{clinic['id']}/clinicians/lek-001/dashboard-link"
    resp = await client.post(url, headers=auth())
    assert resp.status == 201, await resp.text()
    link = await resp.json()
    assert link["url"] == f"https://video.example.org/clinic/{clinic['id']}?t={link['token']}"
    claims = jwt.decode(link["token"], SECRET, algorithms=["HS256"], audience="konsylium-clinic",
                        options={"verify_exp": False})
    assert claims["scope"] == "clinic" and claims["sub"] == "lek-001" and claims["clinic"] == clinic["id"]
    assert claims["exp"] - claims["iat"] == 8 * 3600
    resp = await client.post(url, json={"ttl_minutes": 30}, headers=auth())
    short = await resp.json()
    assert short["expires_at"] == (NOW + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    for bad in [{"ttl_minutes": 4}, {"ttl_minutes": 721}, {"ttl_minutes": "60"}, {"ttl_minutes": True}, []]:
        resp = await client.post(url, json=bad, headers=auth())
        assert resp.status == 422, bad
    resp = await client.post(f"/api/v1/clinics/{clinic['id']}/clinicians/nobody/dashboard-link", headers=auth())
    assert resp.status == 404
