"""The Socket.IO protocol with real aiortc peers against a real node (docs/protocol.md)."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.conftest import auth
from tests.signalling.clients import Client, connect_error, until
from tests.signalling.conftest import DOCTOR, PATIENT, VIEWER, LiveNode, doctor_and_patient


async def test_bad_tokens_are_refused_with_a_code(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT)
    token = room["participants"][1]["token"]
    assert (await connect_error(live.url, None))["data"]["code"] == "invalid_token"
    assert (await connect_error(live.url, {"token": "garbage"}))["data"]["code"] == "invalid_token"
    assert (await connect_error(live.url, {"token": token[:-2] + "xx"}))["data"]["code"] == "invalid_token"
    async with aiohttp.ClientSession() as http:
        pid = room["participants"][1]["id"]
        await http.delete(f"{live.url}/api/v1/rooms/{room['id']}/participants/{pid}", headers=auth())
        assert (await connect_error(live.url, {"token": token}))["data"]["code"] == "participant_removed"
        await http.delete(f"{live.url}/api/v1/rooms/{room['id']}", headers=auth())
    host_token = room["participants"][0]["token"]
    assert (await connect_error(live.url, {"token": host_token}))["data"]["code"] == "room_cancelled"


async def test_too_early_says_when(live: LiveNode) -> None:
    from datetime import UTC, datetime, timedelta

    start = datetime.now(UTC) + timedelta(days=1)
    room = await live.book(DOCTOR, starts_at=start.isoformat(),
                           ends_at=(start + timedelta(hours=1)).isoformat())
    refused = await connect_error(live.url, {"token": room["participants"][0]["token"]})
    assert refused["data"]["code"] == "too_early" and refused["data"]["opens_at"]


async def test_join_publish_subscribe_mute_leave(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT)
    doctor_p, patient_p = room["participants"]
    doctor, patient = live.client(doctor_p["token"]), live.client(patient_p["token"])
    await doctor.connect()
    assert doctor.welcome is not None and doctor.welcome["participants"] == []
    assert doctor.welcome["you"]["id"] == doctor_p["id"] and doctor.welcome["resumed"] is False
    assert doctor.welcome["room"]["title"] == "Test room"
    await patient.connect()
    assert [p["id"] for p in patient.welcome["participants"]] == [doctor_p["id"]]  # type: ignore[index]
    await until(lambda: bool(doctor.named("participant_joined")), what="participant_joined")
    assert doctor.named("participant_joined")[0]["name"] == "Jan Kowalski"

    ack = await doctor.publish()
    assert ack["ok"] and "a=fingerprint" in ack["sdp"]
    await until(lambda: (v := patient.video_from(doctor_p["id"])) is not None and len(v.distinct) > 3,
                timeout=15, what="the patient decoding the doctor's moving video")
    await until(lambda: patient.received.get(f"{doctor_p['id']}:audio", None) is not None
                and patient.received[f"{doctor_p['id']}:audio"].frames > 10, what="audio")
    updated = [p for p in patient.named("participant_updated") if p["id"] == doctor_p["id"]]
    assert updated and updated[-1]["publishing"] == ["audio", "video"]

    async with aiohttp.ClientSession() as http, http.get(
        f"{live.url}/api/v1/rooms/{room['id']}/live", headers=auth()
    ) as resp:
        now_live = await resp.json()
    by_id = {p["id"]: p for p in now_live["participants"]}
    assert by_id[doctor_p["id"]]["publishing"] == ["audio", "video"]
    assert patient_p["id"] in by_id

    assert (await doctor.sio.call("mute", {"kind": "audio", "muted": True}))["ok"]
    await until(lambda: any(p["muted"]["audio"] for p in patient.named("participant_updated")),
                what="mute seen")

    assert (await doctor.sio.call("leave", {}))["ok"]
    await until(lambda: any(e["id"] == doctor_p["id"] and e["reason"] == "left"
                            for e in patient.named("participant_left")), what="participant_left")
    await until(lambda: live.node.rooms.totals().publishers == 0, what="publisher freed")
    await until(lambda: live.node.rooms.totals().packets_forwarded > 0, what="totals reported")
    async with aiohttp.ClientSession() as http, http.get(f"{live.url}/metrics") as resp:
        text = await resp.text()
    assert 'konsylium_signalling_messages_total{event="publish"} 1.0' in text
    assert "konsylium_forwarded_packets_total 0.0" not in text


async def test_late_joiner_gets_existing_media(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT, ("Tłumacz", "member", "administration"))
    a, b, c = (live.client(p["token"]) for p in room["participants"])
    await a.connect()
    await a.publish()
    await b.connect()
    await b.publish()
    await c.connect()
    ids = [p["id"] for p in room["participants"]]
    for who in ids[:2]:
        await until(lambda who=who: (v := c.video_from(who)) is not None and v.frames > 3,  # type: ignore[misc]
                    timeout=15, what=f"late joiner decoding {who}")
    await until(lambda: (v := a.video_from(ids[1])) is not None and v.frames > 3, timeout=15,
                what="first publisher receiving the second")


async def test_bad_messages_get_error_events_and_the_room_goes_on(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT, VIEWER)
    doctor = live.client(room["participants"][0]["token"])
    viewer = live.client(room["participants"][2]["token"])
    await doctor.connect()
    await viewer.connect()
    cases: list[tuple[str, Any, str]] = [
        ("publish", None, "bad_request"),
        ("publish", "v=0", "bad_request"),
        ("publish", {"sdp": 42}, "bad_request"),
        ("publish", {"sdp": "x" * 70000}, "bad_request"),
        ("publish", {"sdp": "not an sdp"}, "invalid_sdp"),
        ("publish", {"sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"}, "invalid_sdp"),
        ("mute", {"kind": "smell", "muted": True}, "bad_request"),
        ("mute", {"kind": "audio", "muted": "yes"}, "bad_request"),
        ("subscriber_answer", {"sdp": "v=0"}, "bad_request"),
        ("no_such_event", {}, "bad_request"),
    ]
    for event, data, code in cases:
        ack = await doctor.sio.call(event, data)
        assert ack == {"ok": False, "error": {"code": code, "message": ack["error"]["message"]}}, (event, ack)
    await until(lambda: len(doctor.named("error")) == len(cases), what="error events")
    assert [e["code"] for e in doctor.named("error")] == [c for _, _, c in cases]

    refused = await viewer.publish()
    assert refused["error"]["code"] == "forbidden"
    ok = await doctor.publish()  # the room still works for everyone
    assert ok["ok"]
    await until(lambda: (v := viewer.video_from(room["participants"][0]["id"])) is not None
                and v.frames > 3, timeout=15, what="viewer receiving after the errors")


async def test_reconnect_within_grace_is_the_same_participant(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT)
    doctor_p, patient_p = room["participants"]
    doctor, patient = live.client(doctor_p["token"]), live.client(patient_p["token"])
    await doctor.connect()
    await patient.connect()
    await patient.publish()
    await until(lambda: (v := doctor.video_from(patient_p["id"])) is not None and v.frames > 2,
                timeout=15, what="media before the drop")
    await patient.sio.eio.disconnect(abort=True)  # the network goes away, no 'leave'
    await until(lambda: any(p["id"] == patient_p["id"] and p["connection"] == "reconnecting"
                            for p in doctor.named("participant_updated")), what="reconnecting state")

    again = live.client(patient_p["token"])
    await again.connect()
    assert again.welcome is not None and again.welcome["resumed"] is True
    assert again.welcome["you"]["id"] == patient_p["id"]
    await until(lambda: any(p["id"] == patient_p["id"] and p["connection"] == "connected"
                            for p in doctor.named("participant_updated")), what="connected again")
    assert [p["id"] for p in doctor.named("participant_joined")].count(patient_p["id"]) == 1
    assert not doctor.named("participant_left")
    assert sorted(await live.connected(room["id"])) == sorted(p["id"] for p in room["participants"])
    await again.publish()
    await until(lambda: len(doctor.named("subscriber_offer")) >= 2, what="renegotiation")
    await again.close()


async def test_no_reconnect_within_grace_removes_the_participant(live: LiveNode) -> None:
    _, doctor, patient = await doctor_and_patient(live)
    await patient.publish()
    await patient.sio.eio.disconnect(abort=True)
    await until(lambda: any(e["reason"] == "timeout" for e in doctor.named("participant_left")),
                what="timeout departure")
    await until(lambda: live.node.rooms.totals().publishers == 0, what="media freed")


async def test_second_tab_replaces_the_first(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT)
    first = live.client(room["participants"][1]["token"])
    await first.connect()
    second = live.client(room["participants"][1]["token"])
    await second.connect()
    await until(lambda: any(e["code"] == "replaced" for e in first.named("error")), what="replaced")
    await until(lambda: not first.sio.connected, what="first socket closed")
    assert await live.connected(room["id"]) == [room["participants"][1]["id"]]
    assert second.sio.connected


async def test_messages_before_welcome_or_after_leaving_are_refused(live: LiveNode) -> None:
    room = await live.book(DOCTOR)
    client = live.client(room["participants"][0]["token"])
    await client.connect()
    assert (await client.sio.call("leave", {}))["ok"]
    await until(lambda: not client.sio.connected, what="disconnect after leave")
    assert await live.connected(room["id"]) == []


async def test_expired_token_is_refused(live: LiveNode) -> None:
    from tests.signalling.test_whip_whep import expired_token

    room = await live.book(DOCTOR)
    refused = await connect_error(live.url, {"token": expired_token(room["participants"][0]["token"])})
    assert refused["data"]["code"] == "token_expired"


async def doctor_publishing_to_patient(live: LiveNode) -> tuple[str, Client, Client]:
    """A booked doctor and patient, both connected, the doctor publishing: (doctor id, doctor, patient)."""
    room, doctor, patient = await doctor_and_patient(live)
    assert (await doctor.publish())["ok"]
    return room["participants"][0]["id"], doctor, patient


async def test_a_failed_republish_keeps_the_media_already_sent(live: LiveNode) -> None:
    doctor_id, doctor, patient = await doctor_publishing_to_patient(live)
    await until(lambda: patient.video_from(doctor_id) is not None, timeout=15, what="patient receiving video")
    refused = await doctor.sio.call("publish", {"sdp": "v=0\r\nnot really"})
    assert refused["error"]["code"] == "invalid_sdp"
    video = patient.video_from(doctor_id)
    assert video is not None
    frames = video.frames
    await until(lambda: video.frames > frames + 10, what="the old media still flowing after a bad offer")
    assert patient.named("participant_updated")[-1]["publishing"] == ["audio", "video"]


async def test_a_failed_subscribe_connection_is_replaced(live: LiveNode) -> None:
    doctor_id, _, patient = await doctor_publishing_to_patient(live)
    await until(lambda: (v := patient.video_from(doctor_id)) is not None and v.frames > 2,
                timeout=15, what="media before the failure")
    first, old_video = patient.connection, patient.video_from(doctor_id)
    assert patient.subscriber is not None
    await patient.subscriber.close()  # the media path dies; the socket stays up
    patient.subscriber = None
    await until(lambda: patient.connection not in (None, first), timeout=15,
                what="a new subscribe connection offered")
    await until(lambda: (v := patient.video_from(doctor_id)) is not old_video and v is not None
                and v.frames > 2, timeout=15, what="media on the new connection")


async def test_one_publisher_three_subscribers_through_the_node(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT, ("Tłumacz", "member", "administration"), VIEWER)
    host_p = room["participants"][0]
    host = live.client(host_p["token"])
    await host.connect()
    assert (await host.publish())["ok"]
    others = [live.client(p["token"]) for p in room["participants"][1:]]
    for client in others:
        await client.connect()
    for client in others:
        await until(lambda client=client: (v := client.video_from(host_p["id"])) is not None  # type: ignore[misc]
                    and len(v.distinct) > 3, timeout=15, what="each subscriber decoding moving video")
