"""The visit on a real node with real aiortc peers, with the media in-process and in two media workers: the
clinician confirms identity and admits, holds the patient (the SFU's forwarded-packet total stops: nothing from
the patient, nothing to them), resumes (video moves again), completes; the outcome and the note cross from the
worker to the store (front calls) and `GET …/consultation` shows them with the tenant's key only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from telemed.consultation import Consultation
from tests.conftest import auth
from tests.signalling.clients import Client, until
from tests.signalling.conftest import CITIZEN, DOCTOR, PATIENT, LiveNode, running_node

NOTE = "Zalecenia: odpoczynek.\nKontrola za 2 tygodnie."


@pytest.fixture(params=[0, 2], ids=["in-process", "2-workers"])
async def visits(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[LiveNode]:
    async with running_node(tmp_path, request.param, workflows=(Consultation(),)) as node:
        yield node


async def consultation(node: LiveNode, room_id: str, tenant: str = "portal",
                       headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(
            f"{node.url}/api/v1/rooms/{room_id}/consultation",
            headers=auth(tenant) if headers is None else headers) as resp:
        return resp.status, await resp.json()


def moving(client: Client, key: str) -> int:
    received = client.received.get(key)
    return 0 if received is None else len(received.distinct)


async def test_hold_pauses_media_both_ways_and_the_outcome_reaches_the_store(visits: LiveNode) -> None:
    room = await visits.book(DOCTOR, CITIZEN, kind="consultation", model="A2C")
    doctor_p, patient_p = room["participants"]
    doctor, patient = visits.client(doctor_p["token"]), visits.client(patient_p["token"])
    for client in (doctor, patient):
        client.sio.on("visit", client._recorder("visit"))
        client.sio.on("sent_to_lobby", client._recorder("sent_to_lobby"))
    await doctor.connect()
    assert (await doctor.publish())["ok"]
    await patient.connect()
    assert patient.welcome is not None and patient.welcome["you"]["state"] == "waiting"
    ack = await doctor.sio.call("admit", {"participant_id": patient_p["id"], "identity_confirmed": True})
    assert ack == {"ok": True}
    await until(lambda: patient.named("visit") and patient.named("visit")[-1]["timer"]["running"],
                what="the visit's timer running for the patient")
    assert (await patient.publish())["ok"]
    from_patient, from_doctor = f"{patient_p['id']}:video", f"{doctor_p['id']}:video"
    await until(lambda: moving(doctor, from_patient) > 3 and moving(patient, from_doctor) > 3, timeout=20,
                what="both see each other")

    assert (await doctor.sio.call("visit_hold", {"participant_id": patient_p["id"]})) == {"ok": True}
    await until(lambda: any(u["id"] == patient_p["id"] and u["state"] == "on_hold"
                            for u in patient.named("participant_updated")), what="the patient told of the hold")
    await asyncio.sleep(1.0)  # what was on its way arrives
    first = (await visits.settled_totals()).packets_forwarded
    seen = moving(doctor, from_patient), moving(patient, from_doctor)
    await asyncio.sleep(1.5)
    assert (await visits.settled_totals()).packets_forwarded - first < 5, "nothing forwarded either way"
    assert (moving(doctor, from_patient), moving(patient, from_doctor)) == seen

    assert (await doctor.sio.call("visit_resume", {"participant_id": patient_p["id"]})) == {"ok": True}
    await until(lambda: moving(doctor, from_patient) > seen[0] + 3 and moving(patient, from_doctor) > seen[1] + 3,
                timeout=15, what="the video moving again both ways (from a fresh keyframe)")

    requested = await patient.sio.call("visit_request_in_person", {})
    assert requested["ok"] and requested["requested_at"]
    await until(lambda: doctor.named("visit")[-1]["in_person_requests"] != [], what="shown to the clinician")

    await doctor.sio.emit("visit_complete", {"outcome": "completed", "note": NOTE})
    await until(lambda: any(e.get("code") == "room_ended" for e in patient.named("error")), timeout=15,
                what="the visit ended for everyone")
    status, body = await consultation(visits, room["id"])
    assert status == 200
    assert body["outcome"] == "completed" and body["note"] == NOTE and body["completed_by"] == doctor_p["id"]
    assert body["timer"]["started_at"] is not None and body["timer"]["in_call_seconds"] >= 2
    assert [(c["participant_id"], c["by"]) for c in body["identity_confirmations"]] == [(patient_p["id"],
                                                                                         doctor_p["id"])]
    assert [r["participant_id"] for r in body["in_person_requests"]] == [patient_p["id"]]


async def test_a_patient_sent_back_waits_and_is_admitted_again(visits: LiveNode) -> None:
    room = await visits.book(DOCTOR, CITIZEN, kind="consultation", model="A2C")
    doctor_p, patient_p = room["participants"]
    doctor, patient = visits.client(doctor_p["token"]), visits.client(patient_p["token"])
    patient.sio.on("sent_to_lobby", patient._recorder("sent_to_lobby"))
    await doctor.connect()
    await patient.connect()
    await doctor.sio.call("admit", {"participant_id": patient_p["id"], "identity_confirmed": True})
    await until(lambda: any(u["id"] == patient_p["id"] and u["state"] == "in_call"
                            for u in doctor.named("participant_joined")), what="admitted")
    assert (await doctor.sio.call("visit_send_back", {"participant_id": patient_p["id"]})) == {"ok": True}
    await until(lambda: patient.named("sent_to_lobby") != [], what="the patient back in the waiting room")
    assert patient.named("sent_to_lobby")[0]["you"]["state"] == "waiting"
    await until(lambda: any(e == {"id": patient_p["id"], "reason": "lobby"} for e in doctor.named("participant_left")),
                what="the clinician sees them leave the call")
    refused = await patient.sio.call("chat_send", {"text": "halo?"})
    assert refused["error"]["code"] == "forbidden"
    assert (await doctor.sio.call("admit", {"participant_id": patient_p["id"]})) == {"ok": True}
    await until(lambda: sum(e["id"] == patient_p["id"] for e in doctor.named("participant_joined")) == 2,
                what="admitted again")


async def test_the_consultation_is_read_with_the_tenants_key_only(visits: LiveNode) -> None:
    room = await visits.book(DOCTOR, CITIZEN, kind="consultation", model="A2C")
    status, body = await consultation(visits, room["id"])
    assert status == 200 and body["outcome"] is None and body["note"] is None
    assert body["timer"] == {"started_at": None, "in_call_seconds": None}
    assert (await consultation(visits, room["id"], "clinic"))[0] == 404  # another tenant's
    assert (await consultation(visits, room["id"], headers={}))[0] == 401
    meeting = await visits.book(DOCTOR, PATIENT)
    assert (await consultation(visits, meeting["id"]))[0] == 404  # no consultation
    assert (await consultation(visits, "no-such-room"))[0] == 404
