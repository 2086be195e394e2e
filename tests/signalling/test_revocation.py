"""Revocation reaches live sessions on every surface (Socket.IO, WHIP, WHEP) within a second.

Each test books a room, brings real clients into it, revokes through the public
API, and checks from the client's side that the session ended and why.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiortc import RTCSessionDescription

from tests.conftest import auth
from tests.signalling.clients import Client, WhepViewer, bearer, client_pc, post, publish_offer, until
from tests.signalling.conftest import (
    DOCTOR,
    PATIENT,
    VIEWER,
    LiveNode,
    doctor_and_patient,
    patient_watching,
    running_node,
)

REVOKED_WITHIN = 1.0  # seconds: the "within a second"


async def api(node: LiveNode, method: str, path: str) -> int:
    async with aiohttp.ClientSession() as http, http.request(method, f"{node.url}/api/v1{path}",
                                                             headers=auth()) as resp:
        return resp.status


def errors_of(client: Client) -> list[str]:
    return [e["code"] for e in client.named("error")]


async def in_call(live: LiveNode) -> tuple[dict[str, Any], Client, Client]:
    """Doctor and patient both connected and publishing, each decoding the other."""
    room, doctor, patient = await doctor_and_patient(live)
    patient_id = room["participants"][1]["id"]
    assert (await doctor.publish())["ok"]
    assert (await patient.publish())["ok"]
    await until(lambda: (v := doctor.video_from(patient_id)) is not None and len(v.distinct) > 3,
                timeout=15, what="doctor decoding the patient")
    return room, doctor, patient


async def test_removed_participant_is_cut_off_on_their_socket(live: LiveNode) -> None:
    room, doctor, patient = await in_call(live)
    patient_id = room["participants"][1]["id"]
    started = time.monotonic()
    assert await api(live, "DELETE", f"/rooms/{room['id']}/participants/{patient_id}") == 204
    await until(lambda: not patient.sio.connected, timeout=REVOKED_WITHIN, what="removed socket disconnected")
    assert time.monotonic() - started < REVOKED_WITHIN
    assert "participant_removed" in errors_of(patient)
    await until(lambda: any(e["id"] == patient_id and e["reason"] == "participant_removed"
                            for e in doctor.named("participant_left")),
                timeout=REVOKED_WITHIN, what="host told the patient left")
    await until(lambda: live.node.rooms.totals().publishers == 1, what="the patient's publisher freed")
    frames = doctor.received[f"{patient_id}:video"].frames
    await until(lambda: True, timeout=0.5)
    assert live.node.rooms.totals().publishers == 1
    assert patient_id not in await live.connected(room["id"])
    assert doctor.sio.connected  # the host's call goes on
    assert doctor.received[f"{patient_id}:video"].frames <= frames + 30  # at most what was in flight


async def test_cancelled_room_ends_sockets_and_whep_viewers(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT, VIEWER)
    doctor_p, patient_p, viewer_p = room["participants"]
    doctor = live.client(doctor_p["token"])
    await doctor.connect()
    assert (await doctor.publish())["ok"]
    viewer = WhepViewer()
    try:
        await viewer.watch(f"{live.url}/whep/{room['id']}?participant={doctor_p['id']}", viewer_p["token"])
        await until(viewer.video_moving, timeout=15, what="WHEP viewer decoding")
        assert await api(live, "DELETE", f"/rooms/{room['id']}") == 204
        await until(lambda: not doctor.sio.connected, timeout=REVOKED_WITHIN, what="socket disconnected")
        assert "room_cancelled" in errors_of(doctor)
        await until(lambda: live.node.rooms.totals().subscribers == 0, timeout=REVOKED_WITHIN,
                    what="WHEP session freed")
        await until(lambda: viewer.pc.connectionState in ("closed", "failed"), timeout=5,
                    what="the WHEP client sees its connection end")
        patient = live.client(patient_p["token"])
        with pytest.raises(Exception):  # noqa: B017 - the refusal is the library's ConnectionError
            await patient.sio.connect(live.url, auth={"token": patient_p["token"]}, transports=["websocket"])
    finally:
        await viewer.close()


async def test_removed_whip_publisher_is_cut_off_and_delete_says_why(live: LiveNode) -> None:
    room, doctor_p, watcher = await patient_watching(live)
    pc = client_pc()
    try:
        status, headers, answer = await post(f"{live.url}/whip/{room['id']}", await publish_offer(pc),
                                             bearer(doctor_p["token"]))
        assert status == 201, answer
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await until(lambda: (v := watcher.video_from(doctor_p["id"])) is not None and len(v.distinct) > 3,
                    timeout=15, what="WHIP video decoded")
        assert await api(live, "DELETE", f"/rooms/{room['id']}/participants/{doctor_p['id']}") == 204
        await until(lambda: live.node.rooms.totals().publishers == 0, timeout=REVOKED_WITHIN,
                    what="WHIP publisher freed")
        await until(lambda: any(e["id"] == doctor_p["id"] for e in watcher.named("participant_left")),
                    timeout=REVOKED_WITHIN, what="others told")
        async with aiohttp.ClientSession() as http, http.delete(headers["Location"]) as resp:
            assert resp.status == 410
            assert "withdrawn" in (await resp.json())["detail"]
        status, _, body = await post(f"{live.url}/whip/{room['id']}", await publish_offer(client_pc()),
                                     bearer(doctor_p["token"]))
        assert status == 410, body
    finally:
        await pc.close()


async def test_ended_meeting_ends_every_session_and_its_links(live: LiveNode) -> None:
    room, doctor, patient = await in_call(live)
    assert await api(live, "POST", f"/rooms/{room['id']}/end") == 204
    await until(lambda: not doctor.sio.connected and not patient.sio.connected, timeout=REVOKED_WITHIN,
                what="every socket ended")
    assert "room_ended" in errors_of(doctor) and "room_ended" in errors_of(patient)
    await until(lambda: live.node.rooms.totals().publishers == 0 and live.node.rooms.totals().subscribers == 0,
                timeout=REVOKED_WITHIN, what="media freed")
    async with aiohttp.ClientSession() as http:
        async with http.get(room["participants"][0]["join_url"]) as resp:
            assert resp.status == 410
        async with http.get(f"{live.url}/api/v1/rooms/{room['id']}", headers=auth()) as resp:
            assert (await resp.json())["status"] == "ended"
    assert await api(live, "POST", f"/rooms/{room['id']}/end") == 204  # idempotent
    assert await api(live, "PATCH", f"/rooms/{room['id']}") in (409, 415)


async def test_closing_window_ends_viewing_but_not_the_call(tmp_path: Path) -> None:
    """When the join window closes, WHEP viewers end; members in the call go on."""
    async with running_node(tmp_path, 0, join_late=timedelta(0)) as live:
        start = datetime.now(UTC) - timedelta(minutes=5)
        ends = datetime.now(UTC) + timedelta(seconds=6)
        body = {"title": "Krótka", "kind": "meeting", "model": "A2A", "starts_at": start.isoformat(),
                "ends_at": ends.isoformat(), "participants": [
                    {"display_name": "A", "role": "host", "party": "administration"},
                    {"display_name": "B", "role": "viewer", "party": "administration"}]}
        async with aiohttp.ClientSession() as http, http.post(f"{live.url}/api/v1/rooms", json=body,
                                                              headers=auth()) as resp:
            assert resp.status == 201
            room = await resp.json()
        host_p, viewer_p = room["participants"]
        host = live.client(host_p["token"])
        await host.connect()
        assert (await host.publish())["ok"]
        viewer = WhepViewer()
        try:
            await viewer.watch(f"{live.url}/whep/{room['id']}?participant={host_p['id']}", viewer_p["token"])
            await until(viewer.video_moving, timeout=15, what="viewer decoding")
            await until(lambda: live.node.rooms.totals().subscribers == 0, timeout=15,
                        what="the WHEP session ended at the window's close")
            assert datetime.now(UTC) >= ends - timedelta(milliseconds=100)
            assert host.sio.connected and live.node.rooms.totals().publishers == 1  # the call goes on
        finally:
            await viewer.close()


async def test_removed_viewer_loses_their_whep_sessions_only(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT, VIEWER)
    doctor_p, patient_p, viewer_p = room["participants"]
    doctor = live.client(doctor_p["token"])
    await doctor.connect()
    assert (await doctor.publish())["ok"]
    removed, kept = WhepViewer(), WhepViewer()
    try:
        for viewer, token in ((removed, viewer_p["token"]), (kept, patient_p["token"])):
            await viewer.watch(f"{live.url}/whep/{room['id']}?participant={doctor_p['id']}", token)
        await until(lambda: removed.video_moving() and kept.video_moving(), timeout=15, what="both decoding")
        assert await api(live, "DELETE", f"/rooms/{room['id']}/participants/{viewer_p['id']}") == 204
        await until(lambda: removed.pc.connectionState in ("closed", "failed"), timeout=5,
                    what="the removed viewer's WHEP connection ends")
        frames = kept.received["video"].frames
        await until(lambda: kept.received["video"].frames > frames + 10, what="the other viewer goes on")
    finally:
        await removed.close()
        await kept.close()
