"""The integrator's live controls (REST), on a real node with real sockets, in-process and in media
workers: the live view, admit, deny, lock and unlock; and whatever an integrator sends, a 4xx problem
or the documented answer, never a 500."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rooms.openapi import openapi_document
from tests.conftest import auth
from tests.signalling.clients import Client, until
from tests.signalling.conftest import CITIZEN, DOCTOR, PATIENT, LiveNode, running_node
from tests.strategies import json_values


async def call(live: LiveNode, method: str, path: str, body: Any = None, *, tenant: str = "portal",
               raw: bytes | None = None, content_type: str = "application/json") -> tuple[int, Any]:
    """Send one API request; return the status and the JSON body (None when there is none)."""
    headers = {**auth(tenant), "Content-Type": content_type}
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    async with aiohttp.ClientSession() as http, http.request(
        method, f"{live.url}/api/v1/rooms/{path}", data=data, headers=headers
    ) as resp:
        text = await resp.read()
        if resp.status >= 400:
            assert resp.content_type == "application/problem+json", (resp.status, text)
        return resp.status, (await resp.json(content_type=None)) if text else None


async def lobby_with_citizen(live: LiveNode) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], Client]:
    """An A2C room: the doctor in the call, the citizen waiting. (room, doctor, citizen, citizen's client)"""
    room = await live.book(DOCTOR, CITIZEN, model="A2C")
    doctor_p, citizen_p = room["participants"]
    await live.client(doctor_p["token"]).connect()
    citizen = live.client(citizen_p["token"])
    citizen.sio.on("admitted", citizen._welcome)
    await citizen.connect()
    return room, doctor_p, citizen_p, citizen


async def test_the_live_view_shows_who_waits_and_who_is_in(live: LiveNode) -> None:
    room = await live.book(DOCTOR, CITIZEN, model="A2C")
    status, empty = await call(live, "GET", f"{room['id']}/live")
    assert status == 200 and empty == {"room_id": room["id"], "participants": [], "locked": False}
    doctor_p, citizen_p = room["participants"]
    await live.client(doctor_p["token"]).connect()
    await live.client(citizen_p["token"]).connect()
    status, view = await call(live, "GET", f"{room['id']}/live")
    assert status == 200 and view["locked"] is False
    by_id = {p["id"]: p for p in view["participants"]}
    assert by_id[doctor_p["id"]]["state"] == "in_call" and by_id[citizen_p["id"]]["state"] == "waiting"
    assert by_id[citizen_p["id"]]["muted"] == {"audio": False, "video": False}
    assert by_id[citizen_p["id"]]["publishing"] == [] and by_id[doctor_p["id"]]["role"] == "host"
    assert (by_id[doctor_p["id"]]["sharing"], by_id[doctor_p["id"]]["hand_raised_at"]) == (False, None)
    schema = openapi_document("http://x")["components"]["schemas"]["Live"]["properties"]["participants"]["items"]
    assert set(by_id[doctor_p["id"]]) <= set(schema["properties"])  # every field the view has is documented
    assert await live.connected(room["id"]) == [doctor_p["id"], citizen_p["id"]]
    status, _ = await call(live, "GET", f"{room['id']}/live", tenant="clinic")
    assert status == 404  # another tenant's room


async def test_admit_lets_a_waiting_citizen_in_and_twice_is_409(live: LiveNode) -> None:
    room, doctor_p, citizen_p, citizen = await lobby_with_citizen(live)
    path = f"{room['id']}/participants/{citizen_p['id']}/admit"
    assert (await call(live, "POST", path))[0] == 204
    await until(lambda: citizen.welcome is not None and citizen.welcome["you"]["state"] == "in_call",
                what="admitted")
    status, problem = await call(live, "POST", path)
    assert status == 409 and problem["status"] == 409
    status, _ = await call(live, "POST", f"{room['id']}/participants/{doctor_p['id']}/admit")
    assert status == 409  # in the call, not waiting
    status, _ = await call(live, "POST", f"{room['id']}/participants/nobody/admit")
    assert status == 404
    status, view = await call(live, "GET", f"{room['id']}/live")
    assert {p["id"]: p["state"] for p in view["participants"]}[citizen_p["id"]] == "in_call"


async def test_deny_with_a_message_tells_them(live: LiveNode) -> None:
    room, _, citizen_p, citizen = await lobby_with_citizen(live)
    path = f"{room['id']}/participants/{citizen_p['id']}/deny"
    assert (await call(live, "POST", path, {"message": "Proszę przyjść jutro"}))[0] == 204
    await until(lambda: not citizen.sio.connected, what="the denied socket closed")
    assert any(e["code"] == "denied" and e["message"] == "Proszę przyjść jutro" for e in citizen.named("error"))
    assert (await call(live, "POST", path))[0] == 409  # no longer waiting


async def test_deny_without_a_body(live: LiveNode) -> None:
    room, _, citizen_p, citizen = await lobby_with_citizen(live)
    status, _ = await call(live, "POST", f"{room['id']}/participants/{citizen_p['id']}/deny", raw=b"",
                           content_type="text/plain")
    assert status == 204
    await until(lambda: not citizen.sio.connected, what="the denied socket closed")


async def test_lock_and_unlock(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT, ("Spóźniony", "member", "administration"))
    doctor_p, patient_p, late_p = room["participants"]
    assert (await call(live, "POST", f"{room['id']}/lock"))[0] == 409  # not live yet
    assert (await call(live, "POST", f"{room['id']}/unlock"))[0] == 204  # it is unlocked
    doctor = live.client(doctor_p["token"])
    doctor.sio.on("room_updated", doctor._recorder("room_updated"))
    await doctor.connect()
    assert (await call(live, "POST", f"{room['id']}/lock"))[0] == 204
    await until(lambda: doctor.named("room_updated") == [{"locked": True}], what="room_updated")
    late = live.client(late_p["token"])
    await late.connect()
    assert late.welcome is not None and late.welcome["you"]["state"] == "waiting"  # locked: they wait
    assert (await call(live, "GET", f"{room['id']}/live"))[1]["locked"] is True
    assert (await call(live, "POST", f"{room['id']}/unlock"))[0] == 204
    await until(lambda: doctor.named("room_updated")[-1] == {"locked": False}, what="unlocked")
    patient = live.client(patient_p["token"])
    await patient.connect()
    assert patient.welcome is not None and patient.welcome["you"]["state"] == "in_call"
    assert (await call(live, "POST", f"{room['id']}/lock", tenant="clinic"))[0] == 404


async def test_bad_bodies_are_4xx_problems(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT)
    doctor_p, patient_p = room["participants"]
    await live.client(doctor_p["token"]).connect()
    mute = f"{room['id']}/participants/{patient_p['id']}/mute"
    deny = f"{room['id']}/participants/{patient_p['id']}/deny"
    for path, body, raw, ctype, expected in [
        (mute, {"kind": "screen"}, None, "application/json", 400),
        (mute, {}, None, "application/json", 400),
        (mute, ["audio"], None, "application/json", 400),
        (mute, None, b"{", "application/json", 400),
        (mute, None, b'{"kind": "audio"}', "text/plain", 415),
        (mute, None, b"", "application/json", 400),
        (deny, {"message": 5}, None, "application/json", 400),
        (deny, {"message": "x" * 301}, None, "application/json", 400),
        (deny, {"message": "a\u202eb"}, None, "application/json", 400),
        (deny, "words", None, "application/json", 400),
    ]:
        status, problem = await call(live, "POST", path, body, raw=raw, content_type=ctype)
        assert status == expected and problem["status"] == expected, (path, body, raw, status, problem)
    status, _ = await call(live, "POST", mute, {"kind": "audio"})
    assert status == 409  # the patient is not in the room
    status, _ = await call(live, "POST", f"{room['id']}/participants/{doctor_p['id']}/mute", {"kind": "audio"})
    assert status == 204


@pytest.fixture
async def doctor_in(tmp_path: Path) -> AsyncIterator[tuple[LiveNode, list[str]]]:
    """A node (built once per test, shared by its examples) with a doctor in the call; the control paths."""
    async with running_node(tmp_path, 0) as live:
        room = await live.book(DOCTOR, PATIENT)
        doctor_p, patient_p = room["participants"]
        await live.client(doctor_p["token"]).connect()
        yield live, [f"{room['id']}/participants/{pid}/{action}" for pid in (doctor_p["id"], patient_p["id"])
                     for action in ("mute", "deny", "admit")] + [f"{room['id']}/lock", f"{room['id']}/unlock"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(index=st.integers(0, 7), body=json_values | st.fixed_dictionaries(
    {"kind": json_values | st.sampled_from(["audio", "video"]), "message": json_values | st.text(max_size=310)}))
async def test_any_body_is_an_answer_or_a_problem(doctor_in: tuple[LiveNode, list[str]], index: int,
                                                  body: Any) -> None:
    """Property: whatever JSON an integrator sends to the controls, a documented answer, never a 500."""
    live, paths = doctor_in
    status, answer = await call(live, "POST", paths[index], body)
    assert status in (204, 400, 409), (paths[index], body, status, answer)
