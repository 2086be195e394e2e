"""What one client, one token, one socket may take: bounded, refused clearly, freed when it fails."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from aiortc import RTCSessionDescription

from signalling.errors import TooManySessions
from signalling.room_service import MAX_WHEP_PER_VIEWER, LocalRoomService
from signalling.socket_api import BURST
from tests.signalling.clients import WhepViewer, bearer, client_pc, post, publish_offer, until
from tests.signalling.conftest import (
    DOCTOR,
    PATIENT,
    VIEWER,
    LiveNode,
    doctor_and_patient,
    patient_watching,
    running_node,
)


def local(live: LiveNode) -> LocalRoomService:
    service = live.node.rooms
    assert isinstance(service, LocalRoomService)
    return service


async def publishing_room(live: LiveNode) -> tuple[dict[str, str], dict[str, str], str]:
    """A room whose doctor publishes over Socket.IO; returns (doctor, viewer, room id)."""
    room = await live.book(DOCTOR, PATIENT, VIEWER)
    doctor_p, _, viewer_p = room["participants"]
    doctor = live.client(doctor_p["token"])
    await doctor.connect()
    assert (await doctor.publish())["ok"]
    await until(lambda: live.node.rooms.totals().publishers == 1, what="publishing")
    return doctor_p, viewer_p, room["id"]


async def test_whep_sessions_per_viewer_are_bounded_and_refused_with_429(live: LiveNode) -> None:
    doctor_p, viewer_p, room_id = await publishing_room(live)
    offer = await WhepViewer().offer()
    url = f"{live.url}/whep/{room_id}?participant={doctor_p['id']}"
    for _ in range(MAX_WHEP_PER_VIEWER):
        status, _, body = await post(url, offer, bearer(viewer_p["token"]))
        assert status == 201, body
    status, headers, body = await post(url, offer, bearer(viewer_p["token"]))
    assert status == 429, body
    statuses = await asyncio.gather(*(post(url, offer, bearer(viewer_p["token"])) for _ in range(5)))
    assert [s for s, _, _ in statuses] == [429] * 5
    assert headers["Content-Type"].startswith("application/problem+json")
    assert headers["Retry-After"] == str(TooManySessions.retry_after)
    totals = await live.settled_totals()
    assert (totals.subscribers, totals.publishers) == (MAX_WHEP_PER_VIEWER, 1)  # the host still publishes


async def test_concurrent_whep_requests_cannot_pass_the_limit(live: LiveNode) -> None:
    doctor_p, viewer_p, room_id = await publishing_room(live)
    offer = await WhepViewer().offer()
    url = f"{live.url}/whep/{room_id}?participant={doctor_p['id']}"
    answers = await asyncio.gather(*(post(url, offer, bearer(viewer_p["token"]))
                                     for _ in range(MAX_WHEP_PER_VIEWER + 6)))
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [201] * MAX_WHEP_PER_VIEWER + [429] * 6
    assert (await live.settled_totals()).subscribers == MAX_WHEP_PER_VIEWER


async def test_bad_offers_leave_nothing_behind(live: LiveNode) -> None:
    doctor_p, viewer_p, room_id = await publishing_room(live)
    good = await WhepViewer().offer()
    garbled = [good.replace("a=group:BUNDLE", "a=group:BUNDLE 99"), good.replace("m=video", "m=video x"),
               "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n",
               "\r\n".join(line for line in good.split("\r\n") if not line.startswith("a=fingerprint"))]
    before = await live.settled_totals()
    for offer in garbled * 5:
        status, _, _ = await post(f"{live.url}/whep/{room_id}?participant={doctor_p['id']}", offer,
                                  bearer(viewer_p["token"]))
        assert status == 400
        status, _, _ = await post(f"{live.url}/whip/{room_id}", offer, bearer(doctor_p["token"]))
        assert status == 400
    after = await live.settled_totals()
    assert (after.publishers, after.subscribers) == (before.publishers, before.subscribers) == (1, 0)


async def test_sessions_whose_ice_never_completes_are_freed(tmp_path: Path) -> None:
    async with running_node(tmp_path, 0) as live:
        local(live).rooms.ice_deadline = 0.5
        doctor_p, viewer_p, room_id = await publishing_room(live)
        status, headers, _ = await post(f"{live.url}/whep/{room_id}?participant={doctor_p['id']}",
                                        await WhepViewer().offer(), bearer(viewer_p["token"]))
        assert status == 201
        assert live.node.rooms.totals().subscribers == 1  # the doctor has no subscriber: alone
        await until(lambda: live.node.rooms.totals().subscribers == 0, timeout=5,
                    what="the never-connected WHEP session freed")
        async with aiohttp.ClientSession() as http, http.delete(headers["Location"]) as resp:
            assert resp.status == 410


async def test_a_whip_publisher_that_never_connects_leaves_the_room(tmp_path: Path) -> None:
    async with running_node(tmp_path, 0) as live:
        local(live).rooms.ice_deadline = 0.5
        room = await live.book(DOCTOR, PATIENT)
        doctor_p = room["participants"][0]
        status, _, _ = await post(f"{live.url}/whip/{room['id']}", await publish_offer(client_pc()),
                                  bearer(doctor_p["token"]))
        assert status == 201
        assert await live.connected(room["id"]) == [doctor_p["id"]]
        await until(lambda: live.node.rooms.totals().publishers == 0, timeout=5, what="publisher freed")
        for _ in range(50):
            if not await live.connected(room["id"]):
                break
            await asyncio.sleep(0.05)
        assert await live.connected(room["id"]) == []  # no member left behind with nothing


async def test_a_full_worker_refuses_new_sessions_and_keeps_its_own(tmp_path: Path) -> None:
    async with running_node(tmp_path, 0) as live:
        doctor_p, viewer_p, room_id = await publishing_room(live)
        local(live).rooms.admission.max_peers = 2  # the doctor's publisher and one more
        url = f"{live.url}/whep/{room_id}?participant={doctor_p['id']}"
        viewer = WhepViewer()
        try:
            status, _, answer = await post(url, await viewer.offer(), bearer(viewer_p["token"]))
            assert status == 201
            await viewer.accept(answer)
            status, headers, body = await post(url, await WhepViewer().offer(), bearer(viewer_p["token"]))
            assert status == 503, body
            assert headers["Retry-After"] == "30"
            assert "server-busy" in body
            await until(viewer.video_moving, timeout=15, what="the admitted viewer keeps receiving")
        finally:
            await viewer.close()


async def test_concurrent_publishes_from_one_socket_leave_one_publisher(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT)
    doctor = live.client(room["participants"][0]["token"])
    await doctor.connect()
    pcs = [client_pc() for _ in range(6)]
    try:
        offers = [await publish_offer(pc) for pc in pcs]
        acks = await asyncio.gather(*(doctor.sio.call("publish", {"sdp": o}) for o in offers))
        accepted = [a for a in acks if a["ok"]]
        assert len(accepted) >= 1
        assert all(a["error"]["code"] == "negotiation_in_progress" for a in acks if not a["ok"])
        assert (await live.settled_totals()).publishers == 1
        assert (await doctor.sio.call("leave", {}))["ok"]
        await until(lambda: live.node.rooms.totals().publishers == 0, what="no orphaned publisher")
    finally:
        for pc in pcs:
            await pc.close()


async def test_delete_of_a_replaced_whip_session_keeps_the_live_one(live: LiveNode) -> None:
    room, doctor_p, watcher = await patient_watching(live)
    first, second = client_pc(), client_pc()
    try:
        status, old, _ = await post(f"{live.url}/whip/{room['id']}", await publish_offer(first),
                                    bearer(doctor_p["token"]))
        assert status == 201
        status, new, answer = await post(f"{live.url}/whip/{room['id']}", await publish_offer(second),
                                         bearer(doctor_p["token"]))
        assert status == 201
        await second.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        async with aiohttp.ClientSession() as http, http.delete(old["Location"]) as resp:
            assert resp.status == 410  # replaced: ended already
        await until(lambda: (v := watcher.video_from(doctor_p["id"])) is not None and len(v.distinct) > 3,
                    timeout=15, what="the newer WHIP session still seen")
        assert (await live.settled_totals()).publishers == 1
        async with aiohttp.ClientSession() as http, http.delete(new["Location"]) as resp:
            assert resp.status == 200
    finally:
        await first.close()
        await second.close()


async def test_a_flood_of_messages_is_rate_limited_and_not_broadcast(live: LiveNode) -> None:
    room, doctor, patient = await doctor_and_patient(live)
    acks = [await patient.sio.call("mute", {"kind": "audio", "muted": n % 2 == 0}) for n in range(300)]
    refused = [a for a in acks if not a["ok"]]
    assert refused and all(a["error"]["code"] == "rate_limited" for a in refused)
    assert len([a for a in acks if a["ok"]]) < 300 * 0.6
    await asyncio.sleep(0.5)
    updates = [e for e in doctor.named("participant_updated") if e["id"] == room["participants"][1]["id"]]
    assert len(updates) <= BURST + 30  # what the bucket let through, not 300
    assert len([e for e in patient.named("error") if e["code"] == "rate_limited"]) <= 10  # one a second


async def test_repeated_mute_is_not_broadcast(live: LiveNode) -> None:
    _, doctor, patient = await doctor_and_patient(live)
    for _ in range(5):
        assert (await patient.sio.call("mute", {"kind": "video", "muted": True}))["ok"]
    await asyncio.sleep(0.3)
    assert len([e for e in doctor.named("participant_updated") if e["muted"]["video"]]) == 1


async def test_a_failed_subscriber_answer_does_not_block_later_offers(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT)
    doctor_p, patient_p = room["participants"]
    doctor, patient = live.client(doctor_p["token"]), live.client(patient_p["token"])
    patient.auto_answer = False
    await doctor.connect()
    await patient.connect()
    assert (await doctor.publish())["ok"]
    await until(lambda: bool(patient.named("subscriber_offer")), what="an offer to the patient")
    patient.auto_answer = True  # from now on like a browser: every further offer is answered
    ack = await patient.sio.call("subscriber_answer", {"sdp": "v=0\r\nnot an answer\r\n"})
    assert not ack["ok"] and ack["error"]["code"] == "invalid_sdp"
    offers = len(patient.named("subscriber_offer"))
    await doctor.sio.call("unpublish", {})
    assert (await doctor.publish())["ok"]
    await until(lambda: len(patient.named("subscriber_offer")) > offers, what="a later offer not folded away")
    await until(lambda: (v := patient.video_from(doctor_p["id"])) is not None and len(v.distinct) > 3,
                timeout=15, what="patient decoding after the failed answer")


async def test_welcome_carries_the_active_speaker(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT)
    doctor_p, patient_p = room["participants"]
    doctor = live.client(doctor_p["token"])
    await doctor.connect()
    assert (await doctor.publish())["ok"]  # a tone with audio levels: the loudest, alone
    await until(lambda: any(e["id"] == doctor_p["id"] for e in doctor.named("active_speaker")), timeout=10,
                what="the doctor becomes the active speaker")
    patient = live.client(patient_p["token"])
    await patient.connect()
    assert patient.welcome is not None and patient.welcome["active_speaker"] == doctor_p["id"]
