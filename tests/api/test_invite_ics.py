"""Calendar invites (GET …/participants/{pid}/invite.ics) over real HTTP on a real SQLite file.

Every answer is parsed back with icalendar, as a calendar client would read it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, quote_from_bytes
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Event, Timezone

from konsylium.app import create_app
from konsylium.settings import Settings
from rooms.clock import ManualClock
from tests.conftest import NOW, ClientFactory, auth, book
from tests.strategies import nasty_text

Client = TestClient[Any, Any]
PROBLEM = "application/problem+json"
WARSAW = ZoneInfo("Europe/Warsaw")


def invite_path(room_id: str, participant_id: str) -> str:
    return f"/api/v1/rooms/{room_id}/participants/{participant_id}/invite.ics"


async def fetch(client: Client, room: dict[str, Any], person: dict[str, Any]) -> tuple[Any, Calendar]:
    """GET the invite of *person*, check the HTTP envelope, and parse the body with icalendar."""
    resp = await client.get(invite_path(room["id"], person["id"]), headers=auth())
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "text/calendar" and resp.charset == "utf-8"
    assert resp.headers["Content-Disposition"].startswith("attachment; filename=")
    assert resp.headers["Cache-Control"] == "no-store"
    calendar = Calendar.from_ical(await resp.read())
    assert resp.headers["Content-Type"].endswith(f"; method={calendar['METHOD']}")
    return resp, calendar


def event_of(calendar: Calendar) -> Event:
    events = calendar.events
    assert len(events) == 1
    return events[0]


async def person_now(client: Client, room: dict[str, Any], index: int) -> dict[str, Any]:
    """The participant resource as the API shows it now (its join link follows the schedule)."""
    pid = room["participants"][index]["id"]
    resp = await client.get(f"/api/v1/rooms/{room['id']}/participants/{pid}", headers=auth())
    assert resp.status == 200
    person: dict[str, Any] = await resp.json()
    return person


async def problem(resp: Any, status: int) -> None:
    assert resp.status == status, await resp.text()
    assert resp.content_type == PROBLEM
    body = await resp.json()
    assert body["status"] == status and body["title"] and body["detail"]


def onsets(zone: Timezone) -> dict[datetime, tuple[timedelta, timedelta]]:
    """Every onset of the VTIMEZONE's observances as a UTC instant (RFC 5545: local time in TZOFFSETFROM)."""
    found = {}
    for observance in [*zone.standard, *zone.daylight]:
        before, after, first = observance.TZOFFSETFROM, observance.TZOFFSETTO, observance.DTSTART
        assert before is not None and after is not None and first is not None
        for local in [first, *(when for when, _ in observance.rdates)]:
            assert isinstance(local, datetime)
            found[(local - before).replace(tzinfo=UTC)] = (before, after)
    return found


async def test_invite_of_a_booked_consultation(client: Client) -> None:
    room = await book(client)  # 2026-11-22 09:00 to 09:30 UTC, "Konsultacja kardiologiczna"
    patient = await person_now(client, room, 1)
    resp, calendar = await fetch(client, room, patient)
    text = (await resp.read()).decode()
    assert "\r\n" in text
    assert resp.headers["Content-Type"] == "text/calendar; charset=utf-8; method=REQUEST"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="zaproszenie.ics"'
    assert (calendar["VERSION"], calendar["METHOD"]) == ("2.0", "REQUEST")

    event = event_of(calendar)
    assert event["UID"] == f"{room['id']}-{patient['id']}@video.example.org"
    assert event.decoded("SEQUENCE") == 0
    assert event["STATUS"] == "CONFIRMED"
    assert event.decoded("DTSTAMP") == NOW
    # the booking's times, in Warsaw's zone (CET in November)
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert start == datetime.fromisoformat(room["starts_at"]) and end == datetime.fromisoformat(room["ends_at"])
    assert (start.replace(tzinfo=None), end.replace(tzinfo=None)) == (
        datetime(2026, 11, 22, 10, 0), datetime(2026, 11, 22, 10, 30))
    assert event["DTSTART"].params["TZID"] == event["DTEND"].params["TZID"] == "Europe/Warsaw"
    assert "DTSTART;TZID=Europe/Warsaw:20261122T100000" in text
    assert "DTSTAMP:20261122T080000Z" in text

    # a consultation's summary is generic: the title (a health matter) is nowhere in the file
    assert event["SUMMARY"] == "Konsultacja wideo"
    assert "kardiolog" not in text.lower()
    assert event["CLASS"] == "PRIVATE"

    conference = event["CONFERENCE"]
    assert str(conference) == patient["join_url"]
    assert conference.params["VALUE"] == "URI"
    assert conference.params["FEATURE"] == ["AUDIO", "VIDEO"]
    assert conference.params["LABEL"]
    assert ";FEATURE=AUDIO,VIDEO;" in text.replace("\r\n ", "")  # two values, not one quoted "AUDIO,VIDEO"
    assert str(event["URL"]) == patient["join_url"]
    assert patient["join_url"] in str(event["DESCRIPTION"])
    assert "ORGANIZER" not in event and "ATTENDEE" not in event


async def test_the_vtimezone_carries_warsaws_real_transitions(client: Client) -> None:
    room = await book(client)
    _, calendar = await fetch(client, room, room["participants"][0])
    (zone,) = calendar.timezones
    assert zone["TZID"] == "Europe/Warsaw" and zone.standard and zone.daylight
    found = onsets(zone)
    hour, two = timedelta(hours=1), timedelta(hours=2)
    # the clocks of the booking's year: forward on 29 March, back on 25 October, both at 01:00 UTC
    assert found[datetime(2026, 3, 29, 1, tzinfo=UTC)] == (hour, two)
    assert found[datetime(2026, 10, 25, 1, tzinfo=UTC)] == (two, hour)
    for instant, (before, after) in found.items():  # every onset is a real one of zoneinfo
        if before != after:
            assert (instant - timedelta(seconds=1)).astimezone(WARSAW).utcoffset() == before, instant
        assert instant.astimezone(WARSAW).utcoffset() == after, instant


async def test_uid_is_stable_and_one_per_participant(client: Client) -> None:
    room = await book(client)
    host, patient = room["participants"]
    first = event_of((await fetch(client, room, patient))[1])
    again = event_of((await fetch(client, room, patient))[1])
    other = event_of((await fetch(client, room, host))[1])
    assert first["UID"] == again["UID"] != other["UID"]
    assert first.to_ical() == again.to_ical()
    assert str(other["CONFERENCE"]) == host["join_url"] != patient["join_url"]


@pytest.mark.parametrize(("kind", "summary"), [
    ("meeting", "Wideospotkanie: Narada zespołu"),
    ("council_session", "Sesja rady: Narada zespołu"),
    ("consultation", "Konsultacja wideo"),
])
async def test_summary_is_polish_by_kind(client: Client, kind: str, summary: str) -> None:
    room = await book(client, kind=kind, title="Narada zespołu")
    event = event_of((await fetch(client, room, room["participants"][0]))[1])
    assert event["SUMMARY"] == summary
    assert ("CLASS" in event) == (kind == "consultation")


async def test_a_reschedule_grows_the_sequence_and_keeps_the_uid(
    client: Client, aiohttp_client: ClientFactory, settings: Settings, clock: ManualClock
) -> None:
    room = await book(client)
    before = event_of((await fetch(client, room, room["participants"][1]))[1])
    start = datetime(2027, 6, 1, 7, 0, tzinfo=UTC)  # summer: 09:00 CEST in Warsaw
    resp = await client.patch(f"/api/v1/rooms/{room['id']}", headers=auth(), json={
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat()})
    assert resp.status == 200, await resp.text()
    patient = await person_now(client, room, 1)
    _, calendar = await fetch(client, room, patient)
    after = event_of(calendar)
    assert after["UID"] == before["UID"]
    assert after.decoded("SEQUENCE") > before.decoded("SEQUENCE")
    assert after.decoded("DTSTART") == start
    assert after.decoded("DTSTART").replace(tzinfo=None) == datetime(2027, 6, 1, 9, 0)
    assert after.decoded("DTSTART").utcoffset() == timedelta(hours=2)
    assert datetime(2027, 3, 28, 1, tzinfo=UTC) in onsets(calendar.timezones[0])  # the VTIMEZONE follows
    # the new window means a new token: the invite carries the link the API gives now
    assert str(after["CONFERENCE"]) == patient["join_url"] != str(before["CONFERENCE"])

    # the sequence comes from the store: a node started afresh on the same data says the same
    restarted = await aiohttp_client(TestServer(create_app(settings, clock)))
    resp = await restarted.get(invite_path(room["id"], patient["id"]), headers=auth())
    assert resp.status == 200
    assert event_of(Calendar.from_ical(await resp.read())).to_ical() == after.to_ical()


async def test_the_sequence_never_goes_down(client: Client, clock: ManualClock) -> None:
    room = await book(client)
    path = f"/api/v1/rooms/{room['id']}"
    person = room["participants"][0]

    async def sequence() -> int:
        value: int = event_of((await fetch(client, room, person))[1]).decoded("SEQUENCE")
        return value

    seen = [await sequence()]
    for body in ({"title": "Kontrola"}, {"ends_at": (NOW + timedelta(hours=2)).isoformat()}, {}):
        clock.advance(timedelta(minutes=1))
        assert (await client.patch(path, json=body, headers=auth())).status == 200
        seen.append(await sequence())
    invite = {"display_name": "Tłumaczka", "role": "member", "party": "citizen"}
    assert (await client.post(f"{path}/participants", json=invite, headers=auth())).status == 201
    seen.append(await sequence())
    assert (await client.delete(path, headers=auth())).status == 204
    seen.append(await sequence())
    assert (await client.delete(path, headers=auth())).status == 204
    seen.append(await sequence())
    # edits and the cancellation each grow it; an empty edit, an invitation or a repeated
    # cancellation leave it (they change nothing of this person's event)
    assert seen == [0, 1, 2, 2, 2, 3, 3]


async def test_a_cancelled_room_sends_a_cancel(client: Client) -> None:
    room = await book(client)
    patient = room["participants"][1]
    before = event_of((await fetch(client, room, patient))[1])
    assert (await client.delete(f"/api/v1/rooms/{room['id']}", headers=auth())).status == 204
    resp, calendar = await fetch(client, room, patient)
    assert calendar["METHOD"] == "CANCEL"
    assert resp.headers["Content-Type"] == "text/calendar; charset=utf-8; method=CANCEL"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="odwolanie.ics"'
    event = event_of(calendar)
    assert event["STATUS"] == "CANCELLED"
    assert event["UID"] == before["UID"]
    assert event.decoded("SEQUENCE") > before.decoded("SEQUENCE")
    assert event.decoded("DTSTART") == before.decoded("DTSTART")
    assert event["SUMMARY"] == before["SUMMARY"]
    # the link no longer works: a cancellation does not carry it
    assert "CONFERENCE" not in event and "URL" not in event
    assert "join" not in (await resp.read()).decode()


async def test_an_ended_room_keeps_its_request(client: Client) -> None:
    room = await book(client)
    patient = room["participants"][1]
    before = event_of((await fetch(client, room, patient))[1])
    assert (await client.post(f"/api/v1/rooms/{room['id']}/end", headers=auth())).status == 204
    _, calendar = await fetch(client, room, patient)
    event = event_of(calendar)
    assert (calendar["METHOD"], event["STATUS"]) == ("REQUEST", "CONFIRMED")
    assert event["UID"] == before["UID"] and event.decoded("SEQUENCE") > before.decoded("SEQUENCE")
    assert event.decoded("DTSTART") == before.decoded("DTSTART")


async def test_other_tenants_unknown_and_removed_participants_get_404(client: Client) -> None:
    room = await book(client)
    host, patient = room["participants"]
    await problem(await client.get(invite_path(room["id"], patient["id"]), headers=auth("clinic")), 404)
    await problem(await client.get(invite_path(room["id"], "no-such-person"), headers=auth()), 404)
    await problem(await client.get(invite_path("no-such-room", patient["id"]), headers=auth()), 404)
    other = await book(client)
    await problem(await client.get(invite_path(other["id"], patient["id"]), headers=auth()), 404)
    await problem(await client.get(invite_path(room["id"], patient["id"])), 401)
    path = f"/api/v1/rooms/{room['id']}/participants/{patient['id']}"
    assert (await client.delete(path, headers=auth())).status == 204
    await problem(await client.get(invite_path(room["id"], patient["id"]), headers=auth()), 404)
    assert (await client.get(invite_path(room["id"], host["id"]), headers=auth())).status == 200


path_segments = st.one_of(
    nasty_text.filter(lambda t: not any("\ud800" <= c <= "\udfff" for c in t)).map(lambda t: quote(t, safe="")),
    st.binary(min_size=1, max_size=16).map(lambda b: quote_from_bytes(b, safe="")),
    st.sampled_from(["", ".", "..", "%2F", "%00", "%FF", "invite.ics", "x" * 3000]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(room_id=path_segments, participant_id=path_segments, real=st.sampled_from(["room", "person", "none"]))
async def test_any_path_segment_is_a_problem_never_a_500(
    client: Client, room_id: str, participant_id: str, real: str
) -> None:
    """Odd ids (any text, raw bytes, dots, slashes, long) in either segment: a 4xx problem, never a 500.

    Examples share the test's node; the booked room is found by listing, so each example may
    pair an odd id with a real one.
    """
    listed = await (await client.get("/api/v1/rooms", headers=auth())).json()
    room = listed["items"][0] if listed["items"] else await book(client)
    if real == "room":
        room_id = room["id"]
    elif real == "person":
        participant_id = room["participants"][0]["id"]
    resp = await client.get(invite_path(room_id, participant_id), headers=auth())
    assert resp.status in (400, 404), (resp.status, await resp.text())
    assert resp.content_type == PROBLEM
    body = await resp.json()
    assert body["status"] == resp.status and body["title"] and body["detail"]
