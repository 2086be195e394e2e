"""The FHIR R4 facade (telemed/fhir) end to end over HTTP, answers checked with fhir.resources."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from rooms.clock import ManualClock
from telemed.fhir.mapping import CHANNEL_SYSTEM, ROOM_SYSTEM, VIRTUAL_SERVICE
from tests.conftest import NOW, auth, book

Client = TestClient[Any, Any]
FHIR = "application/fhir+json"
START = NOW + timedelta(hours=1)


def appointment(**overrides: Any) -> dict[str, Any]:
    """A valid R4 Appointment for a consultation an hour after NOW."""
    body: dict[str, Any] = {
        "resourceType": "Appointment",
        "status": "booked",
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.4424.2.7.1", "value": "EOD-2026-123"}],
        "serviceType": [{"text": "Konsultacja kardiologiczna"}],
        "start": START.isoformat(),
        "end": (START + timedelta(minutes=30)).isoformat(),
        "participant": [
            {"actor": {"reference": "Practitioner/prac-1", "display": "dr Anna Nowak"}, "status": "accepted"},
            {"actor": {"reference": "Patient/pat-1", "display": "Jan Kowalski"}, "status": "accepted"},
        ],
    }
    body.update(overrides)
    return body


async def post(client: Client, body: Any, tenant: str = "portal") -> Any:
    return await client.post("/fhir/r4/Appointment", data=json.dumps(body),
                             headers={**auth(tenant), "Content-Type": FHIR})


async def create(client: Client, tenant: str = "portal", **overrides: Any) -> dict[str, Any]:
    resp = await post(client, appointment(**overrides), tenant)
    assert resp.status == 201, await resp.text()
    created: dict[str, Any] = await resp.json()
    return created


async def issues(resp: Any, status: int) -> list[dict[str, Any]]:
    """The issues of an OperationOutcome answer, validated by the library."""
    assert resp.status == status, await resp.text()
    assert resp.content_type == FHIR
    body = await resp.json()
    OperationOutcome.model_validate(body)
    found: list[dict[str, Any]] = body["issue"]
    assert found
    return found


def virtual_service(element: dict[str, Any]) -> dict[str, Any]:
    """The sub-extensions of the virtualService extension of *element*, by url."""
    (ext,) = [e for e in element.get("extension", []) if e["url"] == VIRTUAL_SERVICE]
    return {sub["url"]: sub for sub in ext["extension"]}


async def test_create_round_trip_is_a_valid_appointment(client: Client) -> None:
    resp = await post(client, appointment())
    assert resp.status == 201, await resp.text()
    assert resp.content_type == FHIR
    body = await resp.json()
    parsed = Appointment.model_validate(body)
    room_id = body["id"]
    assert resp.headers["Location"] == f"https://video.example.org/fhir/r4/Appointment/{room_id}"
    assert parsed.status == "booked"
    assert parsed.start is not None and parsed.start == START
    assert parsed.end is not None and parsed.end == START + timedelta(minutes=30)
    assert parsed.serviceType is not None and parsed.serviceType[0].text == "Konsultacja kardiologiczna"
    assert {(i.system, i.value) for i in parsed.identifier or []} == {
        (ROOM_SYSTEM, room_id), ("urn:oid:2.16.840.1.113883.3.4424.2.7.1", "EOD-2026-123")}
    actors = [(p.actor.type, p.actor.display) for p in parsed.participant if p.actor is not None]
    assert actors == [("Practitioner", "dr Anna Nowak"), ("Patient", "Jan Kowalski")]
    service = virtual_service(body)
    assert service["channelType"]["valueCoding"]["system"] == CHANNEL_SYSTEM
    assert service["channelType"]["valueCoding"]["code"] == "konsylium"
    assert service["sessionKey"]["valueString"] == room_id
    assert service["maxParticipants"]["valuePositiveInt"] == 8
    room = await (await client.get(f"/api/v1/rooms/{room_id}", headers=auth())).json()
    assert (room["kind"], room["model"], room["external_ref"]) == (
        "consultation", "A2C", "urn:oid:2.16.840.1.113883.3.4424.2.7.1|EOD-2026-123")
    links = [p["join_url"] for p in room["participants"]]
    assert [virtual_service(p)["address"]["valueUrl"] for p in body["participant"]] == links
    assert [(p["role"], p["party"]) for p in room["participants"]] == [
        ("host", "administration"), ("member", "citizen")]
    read = await client.get(f"/fhir/r4/Appointment/{room_id}", headers=auth())
    assert read.status == 200
    assert await read.json() == body


async def test_related_person_joins_as_citizen_and_status_proposed_books(client: Client) -> None:
    body = await create(client, status="proposed", participant=[
        {"actor": {"type": "Practitioner", "display": "dr Anna Nowak"}, "status": "accepted"},
        {"actor": {"reference": "RelatedPerson/rp-1", "display": "Maria Kowalska"}, "status": "accepted"},
    ])
    assert body["status"] == "booked"
    assert [p["actor"]["type"] for p in body["participant"]] == ["Practitioner", "Patient"]


@pytest.mark.parametrize(
    ("body", "status", "expression"),
    [
        (appointment(resourceType="Patient"), 400, "Appointment.resourceType"),
        ({"status": "booked"}, 400, "Appointment.resourceType"),
        (appointment(start="tomorrow"), 422, "Appointment.start"),
        (appointment(participant=[{"actor": {"reference": 5}, "status": "accepted"}]), 422,
         "Appointment.participant[0].actor.reference"),
        (appointment(unknownElement=1), 422, "Appointment.unknownElement"),
        (appointment(status="arrived"), 422, "Appointment.status"),
        (appointment(end=(START - timedelta(minutes=5)).isoformat()), 422, "Appointment.end"),
        (appointment(start=(NOW - timedelta(hours=2)).isoformat(), end=(NOW - timedelta(hours=1)).isoformat()),
         422, "Appointment.end"),
        (appointment(participant=[{"actor": {"reference": "Patient/p", "display": "Jan"}, "status": "accepted"}]),
         422, "Appointment.participant"),
        (appointment(participant=[{"actor": {"reference": "Location/l", "display": "Gabinet"},
                                   "status": "accepted"}]), 422, "Appointment.participant[0].actor"),
        (appointment(participant=[{"actor": {"reference": "Practitioner/p"}, "status": "accepted"}]), 422,
         "Appointment.participant[0].actor.display"),
        (appointment(serviceType=[]), 422, "Appointment.serviceType"),
        (appointment(serviceType=[{"text": "\u202eevil"}]), 422, "Appointment.serviceType[0].text"),
        (appointment(end=None), 422, "Appointment.end"),
        (appointment(identifier=[{"system": ROOM_SYSTEM, "value": "x"}]), 422, "Appointment.identifier[0].system"),
    ],
)
async def test_bad_appointments_name_the_element(client: Client, body: dict[str, Any], status: int,
                                                 expression: str) -> None:
    body = {k: v for k, v in body.items() if v is not None}
    found = await issues(await post(client, body), status)
    assert expression in [e for issue in found for e in issue.get("expression", [])], found
    rooms = await (await client.get("/api/v1/rooms", headers=auth())).json()
    assert rooms["items"] == []


async def test_not_json_and_wrong_media_type_are_operation_outcomes(client: Client) -> None:
    resp = await client.post("/fhir/r4/Appointment", data=b"{not json", headers={**auth(), "Content-Type": FHIR})
    await issues(resp, 400)
    resp = await client.post("/fhir/r4/Appointment", data=b"<Appointment/>",
                             headers={**auth(), "Content-Type": "application/fhir+xml"})
    await issues(resp, 415)
    resp = await client.post("/fhir/r4/Appointment", data=json.dumps(appointment()), headers={"Content-Type": FHIR})
    await issues(resp, 401)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_other_paths_and_methods_are_operation_outcomes(client: Client) -> None:
    body = await create(client)
    resp = await client.delete(f"/fhir/r4/Appointment/{body['id']}", headers=auth())
    await issues(resp, 405)
    assert resp.headers["Allow"] == "GET, PUT"
    await issues(await client.get("/fhir/r4/Patient/1", headers=auth()), 404)
    resp = await client.get(f"/fhir/r4/Appointment/{body['id']}", headers=auth())
    assert resp.status == 200


async def test_another_tenants_and_unknown_ids_are_404(client: Client) -> None:
    body = await create(client)
    for path, tenant in ((body["id"], "clinic"), ("no-such-room", "portal")):
        resp = await client.get(f"/fhir/r4/Appointment/{path}", headers=auth(tenant))
        found = await issues(resp, 404)
        assert found[0]["code"] == "not-found"
    resp = await client.put(f"/fhir/r4/Appointment/{body['id']}", data=json.dumps(body),
                            headers={**auth("clinic"), "Content-Type": FHIR})
    await issues(resp, 404)


async def test_a_plain_meeting_is_not_an_appointment(client: Client) -> None:
    room = await book(client, kind="meeting")
    await issues(await client.get(f"/fhir/r4/Appointment/{room['id']}", headers=auth()), 404)


async def test_rescheduling_moves_the_join_window(client: Client) -> None:
    body = await create(client)
    later = START + timedelta(hours=2)
    body["start"], body["end"] = later.isoformat(), (later + timedelta(minutes=45)).isoformat()
    resp = await client.put(f"/fhir/r4/Appointment/{body['id']}", data=json.dumps(body),
                            headers={**auth(), "Content-Type": FHIR})
    assert resp.status == 200, await resp.text()
    moved = Appointment.model_validate(await resp.json())
    assert moved.start == later
    room = await (await client.get(f"/api/v1/rooms/{body['id']}", headers=auth())).json()
    assert room["join_window"] == {"opens_at": "2026-11-22T10:45:00Z", "closes_at": "2026-11-22T12:15:00Z"}
    body["end"] = body["start"]
    resp = await client.put(f"/fhir/r4/Appointment/{body['id']}", data=json.dumps(body),
                            headers={**auth(), "Content-Type": FHIR})
    assert "Appointment.end" in (await issues(resp, 422))[0]["expression"]


async def test_cancel_through_the_booking_api_shows_cancelled(client: Client) -> None:
    body = await create(client)
    assert (await client.delete(f"/api/v1/rooms/{body['id']}", headers=auth())).status == 204
    resp = await client.get(f"/fhir/r4/Appointment/{body['id']}", headers=auth())
    cancelled = Appointment.model_validate(await resp.json())
    assert cancelled.status == "cancelled"
    resp = await client.put(f"/fhir/r4/Appointment/{body['id']}", data=json.dumps(body),
                            headers={**auth(), "Content-Type": FHIR})
    await issues(resp, 409)


async def test_ended_room_is_fulfilled_and_put_cancelled_cancels(client: Client) -> None:
    ended = await create(client)
    assert (await client.post(f"/api/v1/rooms/{ended['id']}/end", headers=auth())).status == 204
    resp = await client.get(f"/fhir/r4/Appointment/{ended['id']}", headers=auth())
    assert (await resp.json())["status"] == "fulfilled"
    other = await create(client)
    resp = await client.put(f"/fhir/r4/Appointment/{other['id']}", data=json.dumps({**other, "status": "cancelled"}),
                            headers={**auth(), "Content-Type": FHIR})
    assert resp.status == 200 and (await resp.json())["status"] == "cancelled"
    room = await (await client.get(f"/api/v1/rooms/{other['id']}", headers=auth())).json()
    assert room["status"] == "cancelled"


async def search(client: Client, query: str, tenant: str = "portal") -> list[str]:
    resp = await client.get(f"/fhir/r4/Appointment?{query}", headers=auth(tenant))
    assert resp.status == 200, await resp.text()
    bundle = Bundle.model_validate(await resp.json())
    assert bundle.type == "searchset"
    return [str(entry.resource.id) for entry in bundle.entry or [] if entry.resource is not None]


async def test_search_by_date_and_identifier(client: Client, clock: ManualClock) -> None:
    first = await create(client)
    next_day = START + timedelta(days=1)
    second = await create(client, start=next_day.isoformat(), end=(next_day + timedelta(minutes=30)).isoformat(),
                          identifier=[{"system": "urn:x", "value": "42"}])
    await create(client, "clinic")
    assert await search(client, "date=ge2026-11-22&date=lt2026-11-23") == [first["id"]]
    assert await search(client, "date=2026-11-23") == [second["id"]]
    assert await search(client, "date=ge2026-11-22") == [first["id"], second["id"]]
    assert await search(client, "date=gt2026-11-22") == [second["id"]]
    assert await search(client, "date=le2026-11-22") == [first["id"]]
    assert await search(client, "date=lt2026-11-22T09:00:01Z") == [first["id"]]
    assert await search(client, "identifier=urn:x|42") == [second["id"]]
    assert await search(client, f"identifier={ROOM_SYSTEM}|{first['id']}") == [first["id"]]
    assert await search(client, f"identifier={ROOM_SYSTEM}|{first['id']}", "clinic") == []
    assert await search(client, "identifier=urn:x|43") == []
    for bad in ("date=tomorrow", "date=9999-12-31", "date=2026-02-30", "identifier=42", "patient=Patient/1"):
        await issues(await client.get(f"/fhir/r4/Appointment?{bad}", headers=auth()), 400)


async def test_metadata_is_a_valid_capability_statement(client: Client) -> None:
    resp = await client.get("/fhir/r4/metadata")
    assert resp.status == 200 and resp.content_type == FHIR
    statement = CapabilityStatement.model_validate(await resp.json())
    assert statement.fhirVersion == "4.0.1"
    (resource,) = statement.rest[0].resource  # type: ignore[index]
    assert resource.type == "Appointment"
    assert {i.code for i in resource.interaction or []} == {"read", "create", "update", "search-type"}
    assert {p.name for p in resource.searchParam or []} == {"date", "identifier"}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
ELEMENTS = st.sampled_from([*sorted(appointment()), "id", "meta", "extension", "cancelationReason"])
BODIES = JSON | st.builds(lambda name, value: {**appointment(), name: value}, ELEMENTS, JSON) | st.builds(
    lambda i, value: appointment(participant=[*appointment()["participant"][:i], value]),
    st.integers(0, 2), JSON)


EXAMPLES = int(os.environ.get("FHIR_EXAMPLES", "60"))


@hsettings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=BODIES)
async def test_any_json_is_booked_or_refused_with_an_outcome(client: Client, body: Any) -> None:
    before = len((await (await client.get("/api/v1/rooms", headers=auth())).json())["items"])
    resp = await post(client, body)
    after = len((await (await client.get("/api/v1/rooms", headers=auth())).json())["items"])
    if resp.status == 201:
        Appointment.model_validate(await resp.json())
        assert after == before + 1
    else:
        await issues(resp, resp.status)
        assert 400 <= resp.status < 500
        assert after == before


async def test_put_needs_the_urls_id_and_big_bodies_are_refused(client: Client) -> None:
    body = await create(client)
    resp = await client.put(f"/fhir/r4/Appointment/{body['id']}", data=json.dumps({**body, "id": "other"}),
                            headers={**auth(), "Content-Type": FHIR})
    assert (await issues(resp, 400))[0]["expression"] == ["Appointment.id"]
    huge = appointment(serviceType=[{"text": "x" * 300_000}])
    await issues(await post(client, huge), 413)
    nine = [{"actor": {"reference": f"Patient/p{i}", "display": f"P {i}"}, "status": "accepted"} for i in range(8)]
    found = await issues(await post(client, appointment(participant=[*appointment()["participant"][:1], *nine])), 422)
    assert "Appointment.participant" in found[0]["expression"]


async def test_names_and_titles_are_not_logged(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    body = await create(client)
    await client.get(f"/fhir/r4/Appointment/{body['id']}", headers=auth())
    await post(client, appointment(end=appointment()["start"]))
    logged = caplog.text
    assert body["id"] in logged
    for secret in ("Kowalski", "Nowak", "kardiologiczna", "EOD-2026-123"):
        assert secret not in logged


@hsettings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(params=st.lists(st.tuples(st.sampled_from(["date", "identifier", "_count"]),
                                 st.text(max_size=30) | st.from_regex(r"(eq|ge|gt|le|lt)?[0-9]{4}-[0-9]{2}-[0-9]{2}",
                                                                      fullmatch=True)), max_size=3))
async def test_any_search_is_a_bundle_or_an_outcome(client: Client, params: list[tuple[str, str]]) -> None:
    resp = await client.get("/fhir/r4/Appointment", params=params, headers=auth())
    if resp.status == 200:
        Bundle.model_validate(await resp.json())
    else:
        assert resp.status == 400, await resp.text()
        await issues(resp, 400)
