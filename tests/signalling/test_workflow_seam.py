"""The workflow seam: a workflow decides admission, reacts to joins and leaves, and brings its own
messages — in-process and in media workers (which load the workflow by name)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from signalling.workflow import Workflows
from tests.signalling.clients import until
from tests.signalling.conftest import CITIZEN, DOCTOR, PATIENT, LiveNode, running_node
from tests.signalling.reception import LetIn, Reception


@pytest.fixture(params=[0, 2], ids=["in-process", "2-workers"])
async def reception(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[LiveNode]:
    async with running_node(tmp_path, request.param, workflows=(Reception(),)) as node:
        yield node


async def test_the_workflow_admits_holds_and_lets_in(reception: LiveNode) -> None:
    room = await reception.book(DOCTOR, CITIZEN, kind="consultation", model="A2C")
    doctor_p, patient_p = room["participants"]
    doctor, patient = reception.client(doctor_p["token"]), reception.client(patient_p["token"])
    doctor.sio.on("reception", doctor._recorder("reception"))  # the workflow's own event
    await doctor.connect()
    assert (await doctor.publish())["ok"]
    await patient.connect()
    assert patient.welcome is not None and patient.welcome["you"]["state"] == "waiting"
    refused = await patient.publish()
    assert refused["error"]["code"] == "forbidden"  # a waiting citizen sends nothing
    await until(lambda: any(e.get("joined") == patient_p["id"] for e in doctor.named("reception")),
                what="the workflow's join reaction")
    assert patient.named("subscriber_offer") == []  # and receives nothing
    assert (await patient.sio.call("let_in", {"participant_id": doctor_p["id"]}))["error"]["code"] == "forbidden"
    assert (await doctor.sio.call("let_in", {"participant_id": patient_p["id"]})) == {"ok": True}
    await until(lambda: any(e["id"] == patient_p["id"] and e["state"] == "in_call"
                            for e in patient.named("participant_updated")), what="told they are in")
    await until(lambda: (v := patient.video_from(doctor_p["id"])) is not None and len(v.distinct) > 3,
                timeout=15, what="the admitted citizen decoding the doctor")
    assert (await patient.publish())["ok"]
    await patient.sio.call("leave", {})
    await until(lambda: any(e.get("left") == patient_p["id"] and e["reason"] == "left"
                            for e in doctor.named("reception")), what="the workflow's leave reaction")


async def test_a_workflow_message_is_refused_in_rooms_of_another_workflow(reception: LiveNode) -> None:
    room = await reception.book(DOCTOR, PATIENT, kind="meeting")
    doctor_p, patient_p = room["participants"]
    doctor, patient = reception.client(doctor_p["token"]), reception.client(patient_p["token"])
    await doctor.connect()
    await patient.connect()
    assert patient.welcome is not None and patient.welcome["you"]["state"] == "in_call"  # a plain meeting
    ack: dict[str, Any] = await doctor.sio.call("let_in", {"participant_id": patient_p["id"]})
    assert ack["error"] == {"code": "bad_request", "message": "'let_in' is not available in this room"}


def test_a_message_has_a_handler_in_one_workflow_only() -> None:
    with pytest.raises(ValueError, match="two workflows"):
        Workflows([Reception(), Reception()])
    assert Workflows([Reception()]).handler(LetIn) is not None
