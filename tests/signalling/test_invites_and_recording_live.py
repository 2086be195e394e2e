"""Guest invites and the recording gate with real sockets, in-process and in media workers.

A host makes an invite from the call (a media worker asks the front, which alone holds the store),
a guest redeems it over HTTP and waits in an A2A room (where nobody else waits) until the host lets
them in; the recording gate refuses, then starts, over sockets and over REST.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp

from tests.conftest import auth
from tests.signalling.clients import until
from tests.signalling.conftest import DOCTOR, PATIENT, LiveNode


async def redeem(url: str) -> str:
    """Open the invite, press join; return the guest's token from the join page's address."""
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as resp:
            assert resp.status == 200
        async with http.post(url, data={"display_name": "Tłumacz Jan"}, allow_redirects=False) as resp:
            assert resp.status == 303, await resp.text()
            match = re.search(r"\?t=([^&]+)", resp.headers["Location"])
            assert match is not None
            return match.group(1)


async def rest(live: LiveNode, method: str, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.request(method, f"{live.url}{path}", headers=auth()) as resp:
        return resp.status, (await resp.json() if resp.content_type.endswith("json") else None)


async def test_a_host_invites_a_guest_who_waits_until_let_in(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT)  # A2A: nobody waits, but a guest does
    doctor_p, patient_p = room["participants"]
    doctor, patient = live.client(doctor_p["token"]), live.client(patient_p["token"])
    doctor.sio.on("lobby", doctor._recorder("lobby"))
    await doctor.connect()
    await patient.connect()
    refused = await patient.sio.call("create_invite", {"purpose": "interpreter", "expires_in_minutes": 30})
    assert refused["error"]["code"] == "forbidden"
    bad = await doctor.sio.call("create_invite", {"purpose": "interpreter", "expires_in_minutes": 301})
    assert bad["error"]["code"] == "bad_request" and "from 5 to 300" in bad["error"]["message"]
    ack = await doctor.sio.call("create_invite", {"purpose": "interpreter", "expires_in_minutes": 30})
    assert ack["ok"], ack
    invite = ack["invite"]
    assert invite["created_by"] == doctor_p["id"] and invite["status"] == "active"

    guest = live.client(await redeem(invite["url"]))
    guest.sio.on("admitted", guest._welcome)
    await guest.connect()
    assert guest.welcome is not None and guest.welcome["you"]["state"] == "waiting"
    await until(lambda: any(w["invited"] for e in doctor.named("lobby") for w in e["waiting"]),
                what="the host sees an invited guest waiting")
    guest_id = guest.welcome["you"]["id"]
    assert (await doctor.sio.call("admit", {"participant_id": guest_id}))["ok"]
    await until(lambda: guest.welcome is not None and guest.welcome["you"]["state"] == "in_call", what="admitted")

    again = await doctor.sio.call("revoke_invite", {"invite_id": invite["id"]})
    assert again["error"]["code"] == "invite_refused"  # used: remove the guest instead
    second = await doctor.sio.call("create_invite", {"purpose": "family_member", "expires_in_minutes": 5})
    assert (await doctor.sio.call("revoke_invite", {"invite_id": second["invite"]["id"]})) == {"ok": True}
    status, listed = await rest(live, "GET", f"/api/v1/rooms/{room['id']}/invites")
    assert status == 200 and [i["status"] for i in listed["items"]] == ["revoked", "used"]


async def test_recording_waits_for_everyone_in_the_call(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT)
    doctor_p, patient_p = room["participants"]
    doctor, patient = live.client(doctor_p["token"]), live.client(patient_p["token"])
    for client in (doctor, patient):
        client.sio.on("recording", client._recorder("recording"))
        client.sio.on("recording_consent_requested", client._recorder("asked"))
    await doctor.connect()
    await patient.connect()
    assert doctor.welcome is not None and doctor.welcome["recording"]["active"] is False
    assert (await doctor.sio.call("recording_consent", {"granted": True})) == {"ok": True}
    refused = await doctor.sio.call("start_recording", {})
    assert refused["error"]["code"] == "recording_consent_missing"
    assert refused["error"]["message"].endswith(patient_p["id"]) and "1 of 2" in refused["error"]["message"]
    await until(lambda: patient.named("asked") != [], what="the patient is asked")
    status, problem = await rest(live, "POST", f"/api/v1/rooms/{room['id']}/recording/start")
    assert status == 409 and problem["type"].endswith("recording-consent-missing")

    assert (await patient.sio.call("recording_consent", {"granted": True})) == {"ok": True}
    started = await doctor.sio.call("start_recording", {})
    assert started["ok"] and started["recording"]["active"] is True
    await until(lambda: any(r["active"] for r in patient.named("recording")), what="the patient sees it")
    status, gate = await rest(live, "GET", f"/api/v1/rooms/{room['id']}/recording")
    assert status == 200 and gate["active"] is True and gate["paused"] is False
    assert {c["participant_id"] for c in gate["consents"] if c["granted"]} == {doctor_p["id"], patient_p["id"]}

    status, _ = await rest(live, "POST", f"/api/v1/rooms/{room['id']}/recording/stop")
    assert status == 204
    await until(lambda: patient.named("recording")[-1]["active"] is False, what="stopped")
    status, gate = await rest(live, "POST", f"/api/v1/rooms/{room['id']}/recording/start")
    assert status == 200 and gate["active"] is True
    deadline = asyncio.get_running_loop().time() + 10  # live rooms' events are written a moment later
    while True:
        status, audit = await rest(live, "GET", f"/api/v1/rooms/{room['id']}/audit")
        types = [e["event"]["type"] for e in audit["entries"]]
        if types.count("recording.started") == 2 or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.05)
    assert types.count("recording.consent") == 2 and types.count("recording.started") == 2
    assert "recording.stopped" in types


async def test_an_idle_room_reads_as_not_recording(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT)
    status, gate = await rest(live, "GET", f"/api/v1/rooms/{room['id']}/recording")
    assert status == 200
    assert gate == {"room_id": room["id"], "active": False, "since": None, "paused": False, "missing": [],
                    "consents": []}
    status, _ = await rest(live, "POST", f"/api/v1/rooms/{room['id']}/recording/stop")
    assert status == 204
    status, _ = await rest(live, "POST", f"/api/v1/rooms/{room['id']}/recording/start")
    assert status == 409
    status, _ = await rest(live, "GET", "/api/v1/rooms/no-such-room/recording")
    assert status == 404
