"""Host controls in the call: mute (enforced by the SFU), ask to unmute, a live role change.

First on the fakes of the live-room unit tests (fast: who is told what, which tracks
are paused), then with real sockets and aiortc peers, in-process and in media workers:
the SFU's counters and the subscriber's decoded frames say what is forwarded.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from rooms.model import Role
from sfu import MediaKind
from signalling.errors import Forbidden, NotJoined
from signalling.messages import AskUnmute, LiveView, Mute, MuteParticipant, SetRole
from tests.conftest import auth
from tests.signalling.clients import Client, until
from tests.signalling.conftest import DOCTOR, PATIENT, VIEWER, LiveNode
from tests.signalling.test_live_room_units import ROOM_ID, World, build_world, settle

AUDIO, VIDEO = MediaKind.AUDIO, MediaKind.VIDEO

# -- on fakes ------------------------------------------------------------------------------------------


@pytest.fixture
async def world() -> AsyncIterator[World]:
    """The live room's unit-test world (tests/signalling/test_live_room_units.py)."""
    made = build_world()
    yield made
    await made.service.close()


async def test_a_host_mute_pauses_that_kind_and_tells_them_and_the_room(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    publisher = await world.publish("b")
    assert await world.send("a", MuteParticipant("b", "video")) == {}
    assert getattr(publisher.track(VIDEO), "paused", False) is True
    assert getattr(publisher.track(AUDIO), "paused", False) is False
    assert world.notifier.to("sid-b", "muted_by_host") == [{"kind": "video"}]
    updates = world.notifier.broadcasts(ROOM_ID, "participant_updated")
    assert updates[-1].data["id"] == "b" and updates[-1].data["muted"] == {"audio": False, "video": True}
    assert world.member("b").host_muted == {"video"}


async def test_the_muted_person_decides_to_unmute(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    publisher = await world.publish("b")
    await world.send(None, MuteParticipant("b", "audio"))  # the integrator, through the API
    assert getattr(publisher.track(AUDIO), "paused", False) is True
    republished = await world.publish("b")  # a new publish connection stays muted
    assert getattr(republished.track(AUDIO), "paused", False) is True
    await world.send("b", Mute("audio", False))
    assert getattr(republished.track(AUDIO), "paused", True) is False
    assert world.member("b").muted["audio"] is False and world.member("b").host_muted == set()


async def test_only_hosts_mute_others_or_ask_them_to_unmute(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    await world.arrive("c")
    for message in (MuteParticipant("c", "audio"), AskUnmute("c", "audio"), SetRole("c", "viewer")):
        with pytest.raises(Forbidden):
            await world.send("b", message)
    with pytest.raises(NotJoined):
        await world.send("a", MuteParticipant("v", "audio"))  # not in the room
    with pytest.raises(Forbidden, match="cannot be sent by the participant"):
        await world.send("a", LiveView())  # the integrator's alone
    assert await world.send("a", AskUnmute("c", "video")) == {}
    assert world.notifier.to("sid-c", "unmute_requested") == [{"kind": "video"}]
    assert world.notifier.to("sid-c", "muted_by_host") == []


async def test_a_live_role_change_moves_publishing_rights_at_once(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    publisher = await world.publish("b")
    assert await world.send(None, SetRole("b", "viewer")) == {}
    member = world.member("b")
    assert member.role is Role.VIEWER and member.participant.role is Role.MEMBER  # the booking is unchanged
    assert publisher.closed and member.publisher is None and not member.permissions.publish
    assert world.notifier.to("sid-b", "participant_updated")[-1]["role"] == "viewer"
    assert await world.send("a", SetRole("b", "member")) == {}
    assert member.role_override is None and member.permissions.publish
    with pytest.raises(Forbidden, match="host"):
        await world.send(None, SetRole("a", "viewer"))
    await world.arrive("v")
    assert not world.member("v").permissions.publish
    await world.send("a", SetRole("v", "member"))
    await world.publish("v")  # no reconnect
    assert world.member("v").publishing == ["audio", "video"]


async def test_the_live_view_lists_states_for_the_api(world: World) -> None:
    await world.arrive("a")
    await world.arrive("w")  # a citizen in A2C: waits
    await world.send("a", MuteParticipant("a", "audio"))
    view = await world.send(None, LiveView())
    by_id = {p["id"]: p for p in view["participants"]}
    assert view["locked"] is False
    assert by_id["a"]["state"] == "in_call" and by_id["w"]["state"] == "waiting"
    assert by_id["a"]["muted"] == {"audio": True, "video": False}
    assert by_id["w"]["display_name"] == "Person w" and by_id["w"]["publishing"] == []
    await settle()


# -- real peers ---------------------------------------------------------------------------------------


def record(client: Client, *names: str) -> None:
    for name in names:
        client.sio.on(name, client._recorder(name))


async def frames(client: Client, key: str, seconds: float) -> int:
    before = client.received[key].frames
    await asyncio.sleep(seconds)
    return client.received[key].frames - before


async def test_a_muted_video_stops_at_the_sfu_and_audio_goes_on(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT)
    doctor_p, patient_p = room["participants"]
    doctor, patient = live.client(doctor_p["token"]), live.client(patient_p["token"])
    record(patient, "muted_by_host")
    await doctor.connect()
    await patient.connect()
    assert (await patient.publish())["ok"]
    video, audio = f"{patient_p['id']}:video", f"{patient_p['id']}:audio"
    await until(lambda: (v := doctor.received.get(video)) is not None and len(v.distinct) > 3
                and (a := doctor.received.get(audio)) is not None and a.frames > 10,
                timeout=15, what="the doctor decoding the patient")

    async with aiohttp.ClientSession() as http, http.post(
        f"{live.url}/api/v1/rooms/{room['id']}/participants/{patient_p['id']}/mute",
        json={"kind": "video"}, headers=auth(),
    ) as resp:
        assert resp.status == 204, await resp.text()
    await until(lambda: patient.named("muted_by_host") == [{"kind": "video"}], what="muted_by_host")
    await asyncio.sleep(1.0)  # within a second the SFU forwards no more of it
    assert await frames(doctor, video, 1.5) == 0, "video still forwarded"
    assert await frames(doctor, audio, 1.0) > 20, "audio must go on"
    await until(lambda: any(p["id"] == patient_p["id"] and p["muted"]["video"]
                            for p in doctor.named("participant_updated")), what="the room told")
    if not live.node.settings.workers:  # the SFU's own counters: received, not forwarded
        sfu: Any = live.node.rooms.rooms.sfu  # type: ignore[attr-defined]
        track = next(t for p in sfu.publishers.values() for t in p.tracks
                     if t.publisher_id.startswith(patient_p["id"]) and t.kind is VIDEO)
        assert track.paused
        received, forwarded = track.stats.packets_received, live.node.rooms.totals().packets_forwarded
        await asyncio.sleep(1.0)
        assert track.stats.packets_received > received, "the publisher still sends"
        audio_only = live.node.rooms.totals().packets_forwarded - forwarded
        assert 0 < audio_only < 150, "about 50 audio packets a second, no video"

    # the patient decides to unmute: forwarding resumes, from a keyframe
    assert (await patient.sio.call("mute", {"kind": "video", "muted": False}))["ok"]
    distinct = len(doctor.received[video].distinct)
    await until(lambda: len(doctor.received[video].distinct) > distinct + 3, timeout=10,
                what="the video moving again")


async def test_a_muted_audio_and_video_stop_every_packet(live: LiveNode) -> None:
    """Both kinds muted: the node's forwarded-packet total stops growing (workers report it too)."""
    room = await live.book(DOCTOR, PATIENT)
    doctor_p, patient_p = room["participants"]
    doctor, patient = live.client(doctor_p["token"]), live.client(patient_p["token"])
    await doctor.connect()
    await patient.connect()
    assert (await patient.publish())["ok"]
    await until(lambda: (a := doctor.received.get(f"{patient_p['id']}:audio")) is not None and a.frames > 10,
                timeout=15, what="audio flowing")
    for kind in ("audio", "video"):
        assert (await doctor.sio.call("mute_participant", {"participant_id": patient_p["id"], "kind": kind}))["ok"]
    await asyncio.sleep(1.0)
    first = (await live.settled_totals()).packets_forwarded
    await asyncio.sleep(1.5)
    assert (await live.settled_totals()).packets_forwarded - first < 5, "nothing is forwarded any more"


async def test_a_host_asks_and_the_participant_is_told(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT)
    doctor_p, patient_p = room["participants"]
    doctor, patient = live.client(doctor_p["token"]), live.client(patient_p["token"])
    record(patient, "unmute_requested")
    await doctor.connect()
    await patient.connect()
    ack = await doctor.sio.call("ask_unmute", {"participant_id": patient_p["id"], "kind": "audio"})
    assert ack == {"ok": True}
    await until(lambda: patient.named("unmute_requested") == [{"kind": "audio"}], what="unmute_requested")
    refused = await patient.sio.call("ask_unmute", {"participant_id": doctor_p["id"], "kind": "audio"})
    assert refused["error"]["code"] == "forbidden"


async def test_a_viewer_made_member_publishes_without_reconnecting(live: LiveNode) -> None:
    room = await live.book(DOCTOR, VIEWER)
    doctor_p, viewer_p = room["participants"]
    doctor, viewer = live.client(doctor_p["token"]), live.client(viewer_p["token"])
    record(viewer, "participant_updated")
    await doctor.connect()
    await viewer.connect()
    assert (await viewer.publish())["error"]["code"] == "forbidden"
    ack = await doctor.sio.call("set_role", {"participant_id": viewer_p["id"], "role": "member"})
    assert ack == {"ok": True}
    await until(lambda: any(p["id"] == viewer_p["id"] and p["role"] == "member"
                            for p in viewer.named("participant_updated")), what="told of the new role")
    assert (await viewer.publish())["ok"]  # the same socket: no reconnect
    await until(lambda: (v := doctor.video_from(viewer_p["id"])) is not None and len(v.distinct) > 3,
                timeout=15, what="the doctor decoding the promoted viewer")
    async with aiohttp.ClientSession() as http, http.get(
        f"{live.url}/api/v1/rooms/{room['id']}/participants/{viewer_p['id']}", headers=auth()
    ) as resp:
        assert (await resp.json())["role"] == "viewer", "the booking keeps its role"

    ack = await doctor.sio.call("set_role", {"participant_id": viewer_p["id"], "role": "viewer"})
    assert ack == {"ok": True}
    await until(lambda: any(p["id"] == viewer_p["id"] and p["publishing"] == []
                            for p in doctor.named("participant_updated")), what="a viewer again: not publishing")
    assert (await viewer.publish())["error"]["code"] == "forbidden"
