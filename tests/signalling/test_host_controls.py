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
from hypothesis import given, settings
from hypothesis import strategies as st

from rooms.model import Role
from sfu import MediaKind
from signalling.errors import Forbidden, NotJoined
from signalling.messages import AskUnmute, EndMeeting, LiveView, Mute, MuteParticipant, RemoveParticipant, SetRole
from tests.conftest import auth
from tests.signalling.clients import Client, WhepViewer, bearer, client_pc, connect_error, post, publish_offer, until
from tests.signalling.conftest import DOCTOR, PATIENT, VIEWER, LiveNode
from tests.signalling.world import ROOM, ROOM_ID, World, build_world, person, settle

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


# -- removing someone and ending the meeting, on fakes ---------------------------------------------


async def test_a_host_removes_a_member_through_the_booking(world: World) -> None:
    for pid in ("a", "b", "c"):
        await world.arrive(pid)
    publisher = await world.publish("b")
    await world.answer_all("c")
    assert any(t.startswith("b.") for t in world.subscriber("c").sending)
    assert await world.send("a", RemoveParticipant("b")) == {}
    assert world.decisions.calls == [("remove", "portal", ROOM_ID, "b", "a")]  # the booking's path, by the host
    assert world.live.member("b") is None and publisher.closed
    left = world.notifier.broadcasts(ROOM_ID, "participant_left")
    assert [c.data for c in left] == [{"id": "b", "reason": "participant_removed"}]
    assert not any(t.startswith("b.") for t in world.subscriber("c").sending)
    assert world.live.member("a") is not None and world.live.member("c") is not None


async def test_who_may_remove_and_who_may_be_removed(world: World) -> None:
    for pid in ("a", "b", "c"):
        await world.arrive(pid)
    await world.service.arrive(ROOM, person("h2", Role.HOST), "sid-h2")
    with pytest.raises(Forbidden, match="only a host"):
        await world.send("b", RemoveParticipant("c"))
    with pytest.raises(Forbidden, match="yourself"):
        await world.send("a", RemoveParticipant("a"))
    with pytest.raises(Forbidden, match="host cannot be removed"):
        await world.send("a", RemoveParticipant("h2"))
    with pytest.raises(NotJoined):
        await world.send("a", RemoveParticipant("v"))  # not in the room
    with pytest.raises(Forbidden, match="only a host"):
        await world.send("b", EndMeeting())
    with pytest.raises(Forbidden, match="cannot be sent by the api"):
        await world.send(None, RemoveParticipant("b"))  # the integrator has DELETE …/participants/{pid}
    assert world.decisions.calls == []
    assert {m for m in world.live.members} == {"a", "b", "c", "h2"}


async def test_a_removal_the_booking_refuses_changes_nothing(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    world.decisions.refuse = NotJoined("that participant is no longer invited to this meeting")
    with pytest.raises(NotJoined):
        await world.send("a", RemoveParticipant("b"))
    assert world.live.member("b") is not None
    assert world.notifier.broadcasts(ROOM_ID, "participant_left") == []


async def test_a_host_ends_the_meeting_for_everyone(world: World) -> None:
    for pid in ("a", "b", "w"):  # w waits in the lobby: ended too
        await world.arrive(pid)
    publisher = await world.publish("b")
    assert await world.send("a", EndMeeting()) == {}
    assert world.decisions.calls == [("end", "portal", ROOM_ID, "a")]
    assert world.rooms.get(ROOM_ID) is None and world.closed_rooms == [ROOM_ID]
    assert publisher.closed and world.sfu.publishers == {} and world.sfu.subscribers == {}
    reasons = {c.data["id"]: c.data["reason"] for c in world.notifier.broadcasts(ROOM_ID, "participant_left")}
    assert reasons.get("b") == "room_ended"


async def test_without_a_booking_service_hosts_cannot_remove_or_end() -> None:
    world = build_world(decisions=None)  # LiveRooms' default: NoDecisions
    try:
        await world.arrive("a")
        await world.arrive("b")
        for message in (RemoveParticipant("b"), EndMeeting()):
            with pytest.raises(Forbidden, match="cannot be"):
                await world.send("a", message)
        assert world.live.member("b") is not None
    finally:
        await world.service.close()


@settings(max_examples=60)
@given(sender=st.sampled_from(["a", "b", "v"]),
       target=st.sampled_from(["a", "b", "c", "v", "w", "nobody"]) | st.text(min_size=1, max_size=64))
def test_a_removal_removes_exactly_a_present_non_host_or_is_refused(sender: str, target: str) -> None:
    """Whoever sends it about whomever: either a host removed a present non-host other than themselves
    (through the booking), or it is refused (`forbidden`, `not_joined`) and the room is unchanged."""

    async def run() -> None:
        world = build_world()
        try:
            for pid in ("a", "b", "c", "v", "w"):
                await world.arrive(pid)
            before = set(world.live.members)
            allowed = sender == "a" and target in before and target != "a"
            try:
                await world.send(sender, RemoveParticipant(target))
            except (Forbidden, NotJoined):
                assert not allowed
                assert set(world.live.members) == before and world.decisions.calls == []
            else:
                assert allowed
                assert set(world.live.members) == before - {target}
                assert world.decisions.calls == [("remove", "portal", ROOM_ID, target, "a")]
        finally:
            await world.service.close()

    asyncio.run(run())


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


# -- removing someone and ending the meeting, with real peers ----------------------------------------

WITHIN = 1.0  # seconds: "within a second", as the API's revocations


def codes(client: Client) -> list[str]:
    return [e["code"] for e in client.named("error")]


async def test_a_host_removes_a_publisher_and_their_token_is_refused_everywhere(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT)
    doctor_p, patient_p = room["participants"]
    doctor, patient = live.client(doctor_p["token"]), live.client(patient_p["token"])
    await doctor.connect()
    await patient.connect()
    assert (await doctor.publish())["ok"]
    assert (await patient.publish())["ok"]
    whep = WhepViewer()  # the patient also watches the doctor over WHEP: that session ends too
    try:
        await whep.watch(f"{live.url}/whep/{room['id']}?participant={doctor_p['id']}", patient_p["token"])
        video = f"{patient_p['id']}:video"
        await until(lambda: (v := doctor.received.get(video)) is not None and len(v.distinct) > 3
                    and whep.video_moving(), timeout=15, what="the doctor decoding the patient, WHEP decoding")

        ack = await doctor.sio.call("remove_participant", {"participant_id": patient_p["id"]})
        assert ack == {"ok": True}
        await until(lambda: not patient.sio.connected, timeout=WITHIN, what="the removed socket ended")
        assert "participant_removed" in codes(patient)
        await until(lambda: any(e["id"] == patient_p["id"] and e["reason"] == "participant_removed"
                                for e in doctor.named("participant_left")), timeout=WITHIN, what="the host told")
        frames = doctor.received[video].frames
        await asyncio.sleep(1.0)
        assert doctor.received[video].frames <= frames + 30, "the host still receives the removed one"
        await until(lambda: whep.pc.connectionState in ("closed", "failed"), timeout=5,
                    what="the removed one's WHEP session ended")
        assert doctor.sio.connected  # the host's call goes on
    finally:
        await whep.close()

    # The removal is in the booking: the token is refused on every surface from now on.
    refused = await connect_error(live.url, {"token": patient_p["token"]})
    assert refused["data"]["code"] == "participant_removed", refused
    status, _, body = await post(f"{live.url}/whip/{room['id']}", await publish_offer(client_pc()),
                                 bearer(patient_p["token"]))
    assert status == 410, body
    status, _, body = await post(f"{live.url}/whep/{room['id']}?participant={doctor_p['id']}",
                                 await WhepViewer().offer(), bearer(patient_p["token"]))
    assert status == 410, body
    async with aiohttp.ClientSession() as http, http.get(
        f"{live.url}/api/v1/rooms/{room['id']}/participants/{patient_p['id']}", headers=auth()
    ) as resp:
        assert resp.status == 404


async def test_a_host_ends_the_meeting_and_every_session_and_link_ends(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT, VIEWER)
    doctor_p, patient_p, viewer_p = room["participants"]
    doctor, patient, viewer = (live.client(p["token"]) for p in room["participants"])
    for client in (doctor, patient, viewer):
        await client.connect()
    assert (await patient.publish())["ok"]
    await until(lambda: (v := doctor.video_from(patient_p["id"])) is not None and len(v.distinct) > 3,
                timeout=15, what="the doctor decoding the patient")
    refused = await patient.sio.call("end_meeting", {})  # a member may not
    assert refused["error"]["code"] == "forbidden" and patient.sio.connected

    await doctor.sio.emit("end_meeting", {})  # its own session ends too: the ack may never arrive
    await until(lambda: not any(c.sio.connected for c in (doctor, patient, viewer)), timeout=WITHIN,
                what="every socket ended")
    for client in (doctor, patient, viewer):
        assert "room_ended" in codes(client)
    await until(lambda: live.node.rooms.totals().publishers == 0 and live.node.rooms.totals().subscribers == 0,
                timeout=WITHIN + (1.2 if live.node.settings.workers else 0), what="media freed")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{live.url}/api/v1/rooms/{room['id']}", headers=auth()) as resp:
            assert (await resp.json())["status"] == "ended"
        async with http.get(viewer_p["join_url"]) as resp:
            assert resp.status == 410
    assert (await connect_error(live.url, {"token": doctor_p["token"]}))["data"]["code"] == "room_ended"
