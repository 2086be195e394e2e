"""Admission decisions are recorded: a host's or the integrator's admit and deny of someone waiting
becomes an `AdmissionRecord` (who, what, by whom, when) in the store, shown on the API's participant.

First on the fakes of the live-room unit tests (which decisions make a record, and which do not), then
on a real node with real sockets, in-process and in media workers (the record travels the worker link
to the front's store).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from rooms.admissions import API, AdmissionOutcome, AdmissionRecord
from signalling.member import ParticipantState
from signalling.messages import Admit, AdmitAll, Deny, Lock
from tests.conftest import auth
from tests.signalling.clients import until
from tests.signalling.conftest import CITIZEN, DOCTOR, SECOND_CITIZEN, LiveNode
from tests.signalling.fakes import FakeEvents
from tests.signalling.world import NOW, ROOM_ID, World

ADMITTED, DENIED = AdmissionOutcome.ADMITTED, AdmissionOutcome.DENIED

# -- on fakes ------------------------------------------------------------------------------------------


async def test_a_hosts_admission_is_recorded_with_the_hosts_id(recorded_world: tuple[World, FakeEvents]) -> None:
    world, recorded = recorded_world
    await world.arrive("a")
    await world.arrive("b")  # an official: in the call at once, no decision, no record
    await world.arrive("w")
    assert recorded.records == []
    await world.send("a", Admit("w"))
    assert world.member("w").state is ParticipantState.IN_CALL
    assert recorded.records == [AdmissionRecord(ROOM_ID, "w", ADMITTED, "a", NOW)]


async def test_the_integrators_decisions_are_recorded_as_api(recorded_world: tuple[World, FakeEvents]) -> None:
    world, recorded = recorded_world
    await world.arrive("a")
    await world.arrive("w")
    await world.send(None, Deny("w"))
    assert world.live.member("w") is None
    assert recorded.records == [AdmissionRecord(ROOM_ID, "w", DENIED, API, NOW)]
    await world.send(None, Admit("w"))  # their link works again; nobody was let in: no record
    assert len(recorded.records) == 1
    await world.arrive("w")
    await world.send(None, Admit("w"))
    assert recorded.records[1:] == [AdmissionRecord(ROOM_ID, "w", ADMITTED, API, NOW)]


async def test_admit_all_records_each_and_a_refused_admit_records_nothing(
    recorded_world: tuple[World, FakeEvents],
) -> None:
    world, recorded = recorded_world
    await world.arrive("a")
    await world.send("a", Lock())
    await world.arrive("b")
    await world.arrive("w")
    await world.send("a", AdmitAll())
    assert [(r.participant_id, r.outcome, r.by) for r in recorded.records] == [("b", ADMITTED, "a"),
                                                                              ("w", ADMITTED, "a")]
    with pytest.raises(Exception, match="not waiting"):
        await world.send("a", Admit("w"))
    with pytest.raises(Exception, match="not waiting"):
        await world.send("a", Deny("b"))
    assert len(recorded.records) == 2


async def test_an_unrecorded_decision_stands_and_is_logged(recorded_world: tuple[World, FakeEvents],
                                                           caplog: pytest.LogCaptureFixture) -> None:
    world, recorded = recorded_world
    recorded.fail = True
    await world.arrive("a")
    await world.arrive("w")
    with caplog.at_level(logging.ERROR, logger="signalling.live_room"):
        assert await world.send("a", Admit("w")) == {}
    assert world.member("w").state is ParticipantState.IN_CALL
    logged = [r.getMessage() for r in caplog.records if r.name == "signalling.live_room"]
    assert f"event not recorded room={ROOM_ID} type=lobby.admitted participant=w" in logged
    assert not any("Person" in line for line in logged)  # ids only, never names


# -- on a real node --------------------------------------------------------------------------------------


async def api_get(live: LiveNode, path: str) -> Any:
    async with aiohttp.ClientSession() as http, http.get(f"{live.url}/api/v1/rooms{path}",
                                                         headers=auth()) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def api_post(live: LiveNode, path: str) -> int:
    async with aiohttp.ClientSession() as http, http.post(f"{live.url}/api/v1/rooms{path}",
                                                          headers=auth()) as resp:
        return resp.status


async def admission_of(live: LiveNode, room_id: str, pid: str, outcome: str, by: str) -> dict[str, Any]:
    """The participant's ``admission`` once it is *outcome* by *by* (in media workers, the record crosses
    the link to the front's store as the decision takes effect)."""
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        admission: dict[str, Any] | None = (await api_get(live, f"/{room_id}/participants/{pid}"))["admission"]
        if admission is not None and (admission["outcome"], admission["by"]) == (outcome, by):
            return admission
        assert asyncio.get_running_loop().time() < deadline, f"admission of {pid}: {admission}"
        await asyncio.sleep(0.05)


def recent(at: str) -> bool:
    return at.endswith("Z") and timedelta(0) <= datetime.now(UTC) - datetime.fromisoformat(at) < timedelta(minutes=1)


async def test_a_hosts_admit_and_deny_over_socketio_are_on_the_participants(live: LiveNode) -> None:
    room = await live.book(DOCTOR, CITIZEN, SECOND_CITIZEN, model="A2C")
    doctor_p, citizen_p, second_p = room["participants"]
    assert [p["admission"] for p in room["participants"]] == [None, None, None]
    doctor = live.client(doctor_p["token"])
    await doctor.connect()
    citizen, second = live.client(citizen_p["token"]), live.client(second_p["token"])
    await citizen.connect()
    await second.connect()
    assert await doctor.sio.call("admit", {"participant_id": citizen_p["id"]}) == {"ok": True}
    assert await doctor.sio.call("deny", {"participant_id": second_p["id"]}) == {"ok": True}
    admitted = await admission_of(live, room["id"], citizen_p["id"], "admitted", doctor_p["id"])
    denied = await admission_of(live, room["id"], second_p["id"], "denied", doctor_p["id"])
    assert set(admitted) == {"outcome", "by", "at"} and recent(admitted["at"]) and recent(denied["at"])
    shown = {p["id"]: p["admission"] for p in (await api_get(live, f"/{room['id']}"))["participants"]}
    assert shown == {doctor_p["id"]: None, citizen_p["id"]: admitted, second_p["id"]: denied}
    listed = await api_get(live, "")
    in_list = next(r for r in listed["items"] if r["id"] == room["id"])
    assert {p["id"]: p["admission"] for p in in_list["participants"]} == shown


async def test_the_integrators_deny_then_admit_are_recorded_as_api(live: LiveNode) -> None:
    room = await live.book(DOCTOR, CITIZEN, model="A2C")
    doctor_p, citizen_p = room["participants"]
    await live.client(doctor_p["token"]).connect()
    citizen = live.client(citizen_p["token"])
    await citizen.connect()
    person = f"/{room['id']}/participants/{citizen_p['id']}"
    assert await api_post(live, f"{person}/deny") == 204
    await admission_of(live, room["id"], citizen_p["id"], "denied", API)
    assert await api_post(live, f"{person}/admit") == 204  # not there: their link works again, no record
    again = live.client(citizen_p["token"])
    again.sio.on("admitted", again._welcome)
    await again.connect()
    assert again.welcome is not None and again.welcome["you"]["state"] == "waiting"
    assert (await api_get(live, person))["admission"]["outcome"] == "denied"  # still the latest
    assert await api_post(live, f"{person}/admit") == 204
    await until(lambda: again.welcome is not None and again.welcome["you"]["state"] == "in_call", what="admitted")
    await admission_of(live, room["id"], citizen_p["id"], "admitted", API)
