"""Screen sharing: a second video track of a `publish`, marked by the `screen` field (its mid).

First on the fakes of the live-room unit tests (who is told what, which tracks are offered with
which `source`, the refusals), with property tests of the field; then real aiortc peers through a
real node, in-process and in media workers: a camera and a screen, both forwarded as packets.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiortc import RTCSessionDescription
from hypothesis import given
from hypothesis import strategies as st

from loadtests.sources import ToneTrack
from sfu import MediaKind
from signalling.errors import BadRequest, Forbidden, ScreenInUse
from signalling.messages import SCREEN_MID_MAX, Publish, Unpublish, parse_message
from tests.signalling.clients import MovingBar, client_pc, local_description, until
from tests.signalling.conftest import DOCTOR, PATIENT, LiveNode
from tests.signalling.fakes import FakePublisher
from tests.signalling.world import ROOM_ID, World, build_world, settle
from tests.strategies import json_values

AUDIO, VIDEO = MediaKind.AUDIO, MediaKind.VIDEO
#: A fake offer with a microphone, a camera and a screen: mids "0", "1", "2".
WITH_SCREEN = "audio video video"


@pytest.fixture
async def world() -> AsyncIterator[World]:
    """The live room's unit-test world (tests/signalling/test_live_room_units.py)."""
    made = build_world()
    yield made
    await made.service.close()


async def share(world: World, pid: str, offer: str = WITH_SCREEN, screen: str = "2") -> FakePublisher:
    """*pid* publishes *offer* with m-line *screen* marked a screen; its tracks go live."""
    assert "sdp" in await world.send(pid, Publish(offer, screen=screen))
    publisher = world.member(pid).publisher
    assert isinstance(publisher, FakePublisher)
    publisher.go_live()
    await settle()
    return publisher


def sources(offer: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(participant, kind, source) of every track of a subscriber offer."""
    return {(t["participant_id"], t["kind"], t["source"]) for t in offer["tracks"]}


# -- on fakes ------------------------------------------------------------------------------------------


async def test_a_shared_screen_is_offered_as_a_second_video_marked_screen(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    publisher = await share(world, "a")
    await world.answer_all("b")
    assert sources(world.offers_to("b")[-1]) == {("a", "audio", "microphone"), ("a", "video", "camera"),
                                                 ("a", "video", "screen")}
    screen = publisher.screen()
    assert screen is not None and screen.id == f"{publisher.id}:2" and screen.kind is VIDEO
    assert world.subscriber("b").sending == {t.id for t in publisher.tracks}
    assert world.member("a").sharing and world.member("a").view()["sharing"] is True
    told = [c.data for c in world.notifier.broadcasts(ROOM_ID, "participant_updated") if c.data["id"] == "a"]
    assert told[-1]["sharing"] is True and told[-1]["publishing"] == ["audio", "video"]


async def test_publishing_again_without_the_screen_stops_the_share(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    sharing = await share(world, "a")
    await world.answer_all("b")
    camera_only = await world.publish("a", "audio video")
    await world.answer_all("b")
    assert sharing.closed and not world.member("a").sharing
    assert sources(world.offers_to("b")[-1]) == {("a", "audio", "microphone"), ("a", "video", "camera")}
    assert world.subscriber("b").sending == {t.id for t in camera_only.tracks}
    told = [c.data for c in world.notifier.broadcasts(ROOM_ID, "participant_updated") if c.data["id"] == "a"]
    assert told[-1]["sharing"] is False
    await share(world, "a")  # and may share again
    await world.send("a", Unpublish())
    assert not world.member("a").sharing


async def test_a_camera_alone_is_not_sharing(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    await world.publish("a", "audio video")
    assert world.member("a").view()["sharing"] is False
    assert world.member("b").view()["sharing"] is False  # publishes nothing
    assert sources(world.offers_to("b")[-1]) == {("a", "audio", "microphone"), ("a", "video", "camera")}


async def test_a_screen_alone_without_a_camera_is_shared(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    await share(world, "a", "audio video", screen="1")
    assert sources(world.offers_to("b")[-1]) == {("a", "audio", "microphone"), ("a", "video", "screen")}
    assert world.member("a").sharing


@pytest.mark.parametrize("screen", ["0", "3", "x", "1 "], ids=["audio", "absent", "unknown", "spaced"])
async def test_a_screen_mid_with_no_video_is_refused_and_the_current_media_stays(world: World, screen: str) -> None:
    await world.arrive("a")
    current = await world.publish("a", "audio video")
    with pytest.raises(BadRequest, match="'screen' must be the mid of a video m-line"):
        await world.send("a", Publish(WITH_SCREEN, screen=screen))
    assert world.member("a").publisher is current and not current.closed
    assert not world.member("a").sharing
    assert all(p.closed for p in world.sfu.created_publishers if p is not current)


async def test_one_sharer_at_a_time(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    await share(world, "a")
    before = len(world.sfu.created_publishers)
    with pytest.raises(ScreenInUse, match="someone else"):
        await world.send("b", Publish(WITH_SCREEN, screen="2"))
    assert len(world.sfu.created_publishers) == before  # refused before any media is made
    await world.publish("b")  # the camera alone is fine
    await share(world, "a")  # the sharer may publish again with the screen (one per participant)
    await world.publish("a", "audio video")  # stops
    await share(world, "b")  # now b may
    assert world.member("b").sharing and not world.member("a").sharing


async def test_a_share_begun_while_another_negotiated_wins(world: World) -> None:
    """Two offers with a screen at once: the one answered second is refused, and leaves nothing."""
    await world.arrive("a")
    await world.arrive("b")
    world.sfu.hold = asyncio.Event()
    first = asyncio.ensure_future(world.service.deliver(ROOM_ID, "a", Publish(WITH_SCREEN, screen="2")))
    second = asyncio.ensure_future(world.service.deliver(ROOM_ID, "b", Publish(WITH_SCREEN, screen="2")))
    await settle()
    world.sfu.hold.set()
    results = await asyncio.gather(first, second, return_exceptions=True)
    assert "sdp" in results[0] and isinstance(results[1], ScreenInUse)
    await settle()
    assert world.member("a").sharing and world.member("b").publisher is None
    assert [p.closed for p in world.sfu.created_publishers] == [False, True]


async def test_a_sharer_who_leaves_frees_the_screen(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    await share(world, "a")
    await world.member("a").publisher.lose()  # type: ignore[union-attr]
    await settle()
    assert not world.member("a").sharing
    await share(world, "b")


async def test_a_viewer_cannot_share(world: World) -> None:
    await world.arrive("a")
    await world.arrive("v")
    with pytest.raises(Forbidden, match="viewer"):
        await world.send("v", Publish(WITH_SCREEN, screen="2"))
    assert world.sfu.created_publishers == []


def test_the_screen_field_is_checked() -> None:
    assert parse_message("publish", {"sdp": "v=0"}) == Publish("v=0", None)
    assert parse_message("publish", {"sdp": "v=0", "screen": None}) == Publish("v=0", None)
    assert parse_message("publish", {"sdp": "v=0", "screen": "1"}) == Publish("v=0", "1")
    for value, says in [("", "non-empty"), ("  ", "non-empty"), (1, "non-empty"), (["1"], "non-empty"),
                        ("9" * (SCREEN_MID_MAX + 1), "longer than 32")]:
        with pytest.raises(BadRequest, match=f"publish: 'screen' .*{says}"):
            parse_message("publish", {"sdp": "v=0", "screen": value})


@given(screen=json_values)
def test_any_screen_value_is_a_mid_or_a_bad_request(screen: Any) -> None:
    try:
        message = parse_message("publish", {"sdp": "v=0", "screen": screen})
    except BadRequest as exc:
        assert exc.code == "bad_request" and "'screen'" in exc.detail
    else:
        assert isinstance(message, Publish)
        assert message.screen is None or (isinstance(message.screen, str) and message.screen.strip()
                                          and len(message.screen) <= SCREEN_MID_MAX)


@given(screen=st.one_of(st.text(max_size=40), st.sampled_from(["0", "1", "2", "3"])))
def test_any_named_screen_is_shared_or_refused_and_nothing_else_changes(screen: str) -> None:
    """Whatever mid a `publish` names: the video on it becomes the one screen, or the message is
    refused with `bad_request` and the member keeps sending what they sent."""

    async def run() -> None:
        world = build_world()
        try:
            await world.arrive("a")
            current = await world.publish("a", "audio video")
            try:
                await world.send("a", Publish(WITH_SCREEN, screen=screen))
            except BadRequest as exc:
                assert exc.code == "bad_request" and "'screen'" in exc.detail
                assert world.member("a").publisher is current and not world.member("a").sharing
            else:
                assert screen in ("1", "2")
                publisher = world.member("a").publisher
                assert isinstance(publisher, FakePublisher)
                marked = [t for t in publisher.tracks if t.source.value == "screen"]
                assert [t.id for t in marked] == [f"{publisher.id}:{screen}"] and marked[0].kind is VIDEO
            assert sum(not p.closed for p in world.sfu.created_publishers) == 1
        finally:
            await world.service.close()

    asyncio.run(run())


# -- real peers ---------------------------------------------------------------------------------------


async def test_a_camera_and_a_screen_both_reach_a_subscriber_marked_by_source(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT)
    doctor_p, patient_p = room["participants"]
    doctor, patient = live.client(doctor_p["token"]), live.client(patient_p["token"])
    await doctor.connect()
    await patient.connect()

    # The doctor sends a camera, a second video (the screen, named by its mid) and a microphone (last:
    # an aiortc client never sends on a second video m-line that follows an audio one).
    pc = doctor.publisher = client_pc()
    pc.addTransceiver(MovingBar(), direction="sendonly")
    screen = pc.addTransceiver(MovingBar(), direction="sendonly")
    pc.addTransceiver(ToneTrack(), direction="sendonly")
    offer = await local_description(pc)
    assert screen.mid is not None
    refused = await doctor.sio.call("publish", {"sdp": offer, "screen": "nine"})
    assert refused["error"]["code"] == "bad_request" and "'screen'" in refused["error"]["message"]
    await until(lambda: any(e.get("code") == "bad_request" for e in doctor.named("error")), what="error event")
    ack = await doctor.sio.call("publish", {"sdp": offer, "screen": screen.mid})
    assert ack["ok"], ack
    await pc.setRemoteDescription(RTCSessionDescription(ack["sdp"], "answer"))

    await until(lambda: any(p["id"] == doctor_p["id"] and p["sharing"] for p in patient.named("participant_updated")),
                timeout=10, what="the patient told the doctor shares")
    await until(lambda: sum(t["participant_id"] == doctor_p["id"] for t in patient.mapping.values()) == 3,
                timeout=15, what="three tracks offered")
    tracks = {(t["kind"], t["source"]) for t in patient.mapping.values() if t["participant_id"] == doctor_p["id"]}
    assert tracks == {("audio", "microphone"), ("video", "camera"), ("video", "screen")}
    camera, shared = f"{doctor_p['id']}:video", f"{doctor_p['id']}:screen"
    await until(lambda: all((r := patient.received.get(key)) is not None and len(r.distinct) > 3
                            for key in (camera, shared)), timeout=20, what="both videos decoded")
    if not live.node.settings.workers:  # forwarded as packets: no decoder runs in the SFU
        sfu: Any = live.node.rooms.rooms.sfu  # type: ignore[attr-defined]
        publisher = next(p for p in sfu.publishers.values() if p.id.startswith(doctor_p["id"]))
        assert publisher.decoders_idle()
        assert {t.source.value for t in publisher.tracks} == {"microphone", "camera", "screen"}

    # A second sharer is refused while the doctor shares.
    other = client_pc()
    other.addTransceiver(MovingBar(), direction="sendonly")
    second = await local_description(other)
    refused = await patient.sio.call("publish", {"sdp": second, "screen": "0"})
    assert refused["error"]["code"] == "screen_in_use"
    await other.close()

    # Stopping: publish again without the screen; the others are told and offered two tracks.
    told = len(patient.named("participant_updated"))
    await pc.close()
    assert (await doctor.publish())["ok"]
    await until(lambda: any(p["id"] == doctor_p["id"] and not p["sharing"] and p["publishing"]
                            for p in patient.named("participant_updated")[told:]), timeout=10, what="sharing ended")
    await until(lambda: {(t["kind"], t["source"]) for t in patient.named("subscriber_offer")[-1]["tracks"]
                         if t["participant_id"] == doctor_p["id"]} == {("audio", "microphone"), ("video", "camera")},
                timeout=10, what="an offer without the screen")
