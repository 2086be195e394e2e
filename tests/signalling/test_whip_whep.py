"""WHIP ingest and WHEP egress with real aiortc peers (CONTRACT.md §4, RFC 9725)."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiortc import RTCSessionDescription

from tests.conftest import auth
from tests.signalling.clients import SDP, WhepViewer, bearer, client_pc, post, publish_offer, until
from tests.signalling.conftest import DOCTOR, PATIENT, VIEWER, LiveNode, patient_watching

NO_MEDIA = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"


async def test_whip_publisher_is_seen_by_socket_participants(live: LiveNode) -> None:
    room, doctor_p, watcher = await patient_watching(live)
    pc = client_pc()
    offer = await publish_offer(pc)
    status, headers, answer = await post(f"{live.url}/whip/{room['id']}", offer, bearer(doctor_p["token"]))
    assert status == 201, answer
    assert headers["Content-Type"].startswith("application/sdp")
    location = headers["Location"]
    assert location.startswith(f"{live.url}/whip/{room['id']}/sessions/")
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    await until(lambda: any(p["id"] == doctor_p["id"] for p in watcher.named("participant_joined")),
                what="WHIP participant announced")
    await until(lambda: (v := watcher.video_from(doctor_p["id"])) is not None and len(v.distinct) > 3,
                timeout=15, what="socket participant decoding the WHIP video")
    async with aiohttp.ClientSession() as http, http.delete(location) as resp:
        assert resp.status == 200
    await until(lambda: any(e["id"] == doctor_p["id"] for e in watcher.named("participant_left")),
                what="WHIP participant gone after DELETE")
    await until(lambda: live.node.rooms.totals().publishers == 0, what="publisher freed")
    async with aiohttp.ClientSession() as http, http.delete(location) as resp:
        assert resp.status == 410  # it existed and ended: the problem says why
        assert (await resp.json())["type"] == "urn:konsylium:problem:session-ended"
    await pc.close()


async def test_whep_pulls_a_socket_participant(live: LiveNode) -> None:
    room = await live.book(DOCTOR, VIEWER)
    doctor_p, viewer_p = room["participants"]
    doctor = live.client(doctor_p["token"])
    await doctor.connect()
    assert (await doctor.publish())["ok"]
    viewer = WhepViewer()
    headers = await viewer.watch(f"{live.url}/whep/{room['id']}?participant={doctor_p['id']}", viewer_p["token"])
    await until(viewer.video_moving, timeout=15, what="WHEP client decoding video")
    await until(viewer.audio_flowing, what="WHEP audio")
    async with aiohttp.ClientSession() as http, http.delete(headers["Location"]) as resp:
        assert resp.status == 200
    await viewer.close()


async def problem(resp_status: int, headers: dict[str, str], body: str, status: int) -> None:
    assert resp_status == status, body
    assert headers["Content-Type"].startswith("application/problem+json"), headers
    assert headers["Access-Control-Allow-Origin"] == "*"


async def test_whip_and_whep_refuse_bad_requests(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT, VIEWER)
    other = await live.book(DOCTOR)
    doctor_t, patient_t, viewer_t = (p["token"] for p in room["participants"])
    pc = client_pc()
    offer = await publish_offer(pc)
    whip = f"{live.url}/whip/{room['id']}"
    cases: list[tuple[str, str, dict[str, str], int]] = [
        (whip, "this is not sdp", bearer(doctor_t), 400),
        (whip, NO_MEDIA, bearer(doctor_t), 400),
        (whip, "", bearer(doctor_t), 400),
        (whip, offer, SDP, 401),
        (whip, offer, bearer("forged.token.value"), 401),
        (whip, offer, bearer(other["participants"][0]["token"]), 401),
        (whip, offer, bearer(viewer_t), 403),
        (whip, offer, {"Authorization": f"Bearer {doctor_t}", "Content-Type": "text/plain"}, 415),
        (f"{live.url}/whep/{room['id']}?participant={room['participants'][0]['id']}", offer,
         bearer(patient_t), 404),
        (f"{live.url}/whep/{room['id']}?participant=nobody", offer, bearer(patient_t), 404),
    ]
    for url, body, headers, status in cases:
        await problem(*(await post(url, body, headers)), status)
    watcher = live.client(patient_t)
    await watcher.connect()
    status, _, _ = await post(whip, offer, bearer(doctor_t))  # the room still works
    assert status == 201
    await until(lambda: bool(watcher.named("participant_joined")), what="publisher after errors")
    await pc.close()


async def test_cancelled_room_and_removed_participant_answer_410(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT)
    pc = client_pc()
    offer = await publish_offer(pc)
    whip = f"{live.url}/whip/{room['id']}"
    async with aiohttp.ClientSession() as http:
        pid = room["participants"][1]["id"]
        await http.delete(f"{live.url}/api/v1/rooms/{room['id']}/participants/{pid}", headers=auth())
        await problem(*(await post(whip, offer, bearer(room["participants"][1]["token"]))), 410)
        await http.delete(f"{live.url}/api/v1/rooms/{room['id']}", headers=auth())
    await problem(*(await post(whip, offer, bearer(room["participants"][0]["token"]))), 410)
    await pc.close()


async def test_cors_preflight_and_no_trickle(live: LiveNode) -> None:
    room = await live.book(DOCTOR)
    async with aiohttp.ClientSession() as http:
        async with http.options(f"{live.url}/whip/{room['id']}",
                                headers={"Origin": "https://obs.example",
                                         "Access-Control-Request-Method": "POST"}) as resp:
            assert resp.status == 204
            assert resp.headers["Access-Control-Allow-Origin"] == "*"
            assert "POST" in resp.headers["Access-Control-Allow-Methods"]
            assert "Authorization" in resp.headers["Access-Control-Allow-Headers"]
            assert "Location" in resp.headers["Access-Control-Expose-Headers"]
        async with http.patch(f"{live.url}/whip/{room['id']}/sessions/x", data="a=candidate") as resp:
            assert resp.status == 405


def expired_token(token: str) -> str:
    """The same invitation, its claims moved into the past and signed with the real secret."""
    import jwt

    from tests.conftest import SECRET

    claims = jwt.decode(token, options={"verify_signature": False})
    claims["nbf"], claims["exp"] = claims["nbf"] - 86400 * 2, claims["exp"] - 86400 * 2
    return jwt.encode(claims, SECRET, algorithm="HS256")


async def test_expired_token_and_unknown_room(live: LiveNode) -> None:
    room = await live.book(DOCTOR)
    pc = client_pc()
    offer = await publish_offer(pc)
    token = room["participants"][0]["token"]
    await problem(*(await post(f"{live.url}/whip/{room['id']}", offer, bearer(expired_token(token)))), 401)
    await problem(*(await post(f"{live.url}/whip/no-such-room", offer, bearer(token))), 401)
    await pc.close()


async def test_candidates_come_from_media_addresses(live: LiveNode) -> None:
    room = await live.book(DOCTOR)
    pc = client_pc()
    status, _, answer = await post(f"{live.url}/whip/{room['id']}", await publish_offer(pc),
                                   bearer(room["participants"][0]["token"]))
    assert status == 201
    candidates = [line for line in answer.splitlines() if line.startswith("a=candidate")]
    assert candidates and all(" 127.0.0.1 " in line for line in candidates), candidates
    await pc.close()


async def test_nat_announced_address_replaces_the_local_one(tmp_path: Any) -> None:
    """KONSYLIUM_MEDIA_ADDRESSES=127.0.0.1/192.0.2.10: bind locally, offer the public address."""
    from konsylium.settings import Settings
    from tests.signalling.conftest import running_node

    media = Settings.from_env({"KONSYLIUM_MEDIA_ADDRESSES": "127.0.0.1/192.0.2.10"}).media_addresses
    for workers in (0, 1):
        async with running_node(tmp_path / str(workers), workers, media_addresses=media) as live:
            room = await live.book(DOCTOR)
            pc = client_pc()
            status, _, answer = await post(f"{live.url}/whip/{room['id']}", await publish_offer(pc),
                                           bearer(room["participants"][0]["token"]))
            await pc.close()
            assert status == 201
            candidates = [line for line in answer.splitlines() if line.startswith("a=candidate")]
            assert candidates and all(" 192.0.2.10 " in line for line in candidates), candidates
