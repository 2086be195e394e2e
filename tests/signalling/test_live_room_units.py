"""Unit tests of the live room's logic: dispatch, permissions, states, negotiation, revocation.

No aiortc and no Socket.IO: the room runs on the fakes of tests/signalling/fakes.py
(a notifier that records, media that negotiates instantly), behind the real
`LocalRoomService`, `LiveRooms`, `LocalPresence` and `Admission`. The tests with real
peers and sockets in this package are the integration layer above these.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rooms.model import Role
from rooms.revocation import Revocation, RevocationReason
from sfu import InvalidAnswer, InvalidOffer, MediaKind
from signalling.admission import Admission
from signalling.errors import (
    Denied,
    Forbidden,
    NegotiationInProgress,
    NoOfferPending,
    NotJoined,
    NotWaiting,
    ServerBusy,
)
from signalling.live_room import HANDLERS
from signalling.member import ParticipantState, Permissions
from signalling.messages import (
    Admit,
    AdmitAll,
    AskUnmute,
    ChatRemove,
    ChatSend,
    CreateInvite,
    Deny,
    EndMeeting,
    Leave,
    LiveView,
    Lock,
    LowerHand,
    Message,
    Mute,
    MuteParticipant,
    Publish,
    RaiseHand,
    RecordingConsent,
    RecordingView,
    RemoveParticipant,
    RevokeInvite,
    Sender,
    SetRole,
    StartRecording,
    StopRecording,
    SubscriberAnswer,
    Unlock,
    Unpublish,
)
from tests.signalling.fakes import FakePublisher
from tests.signalling.world import PEOPLE, ROOM, ROOM_ID, World, WorldFactory, build_world, settle

AUDIO, VIDEO = MediaKind.AUDIO, MediaKind.VIDEO


@pytest.fixture
async def make_world() -> AsyncIterator[WorldFactory]:
    """Build a `World` (keyword arguments go to `LiveRooms`); everything is closed after the test."""
    made: list[World] = []

    async def make(**options: Any) -> World:
        world = build_world(**options)
        made.append(world)
        return world

    yield make
    for world in made:
        await world.service.close()


@pytest.fixture
async def world(make_world: WorldFactory) -> World:
    return await make_world()


# -- dispatch ------------------------------------------------------------------------------------


#: One example of each message the live room handles, and what it must have done.
EXAMPLES: dict[type[Message], Message] = {
    Publish: Publish("audio video"),
    Unpublish: Unpublish(),
    SubscriberAnswer: SubscriberAnswer("answer"),
    Mute: Mute("audio", True),
    Leave: Leave(),
    Admit: Admit("w"),
    AdmitAll: AdmitAll(),
    Deny: Deny("w", "Proszę przyjść jutro"),
    Lock: Lock(),
    Unlock: Unlock(),
    MuteParticipant: MuteParticipant("b", "video"),  # host controls: tests/signalling/test_host_controls.py
    AskUnmute: AskUnmute("b", "audio"),
    SetRole: SetRole("b", "viewer"),
    RemoveParticipant: RemoveParticipant("b"),
    EndMeeting: EndMeeting(),
    LiveView: LiveView(),
    ChatSend: ChatSend("Dzień dobry"),  # chat and hands: tests/signalling/test_chat_hands.py
    ChatRemove: ChatRemove("m-0123456789abcdef"),
    RaiseHand: RaiseHand(),
    LowerHand: LowerHand("b"),
    CreateInvite: CreateInvite("interpreter", 30),  # invites and recording: tests/signalling/test_recording_gate.py
    RevokeInvite: RevokeInvite("invite-1"),
    RecordingConsent: RecordingConsent(True),
    StartRecording: StartRecording(),
    StopRecording: StopRecording(),
    RecordingView: RecordingView(),
}


def test_every_message_of_the_live_room_has_a_unit_example() -> None:
    assert set(HANDLERS) == set(EXAMPLES), "add an example (and a dispatch test) for the new message"
    for cls, handler in HANDLERS.items():
        assert handler.__handles__ is cls  # type: ignore[attr-defined]


async def test_each_message_reaches_its_handler(world: World) -> None:
    """Publish, Mute, SubscriberAnswer, Unpublish and Leave each do their one thing."""
    await world.arrive("a")
    await world.arrive("b")
    ack = await world.send("a", EXAMPLES[Publish])
    assert ack == {"sdp": "answer audio video"}
    publisher = world.member("a").publisher
    assert isinstance(publisher, FakePublisher)
    publisher.go_live()
    await settle()

    assert await world.send("a", EXAMPLES[Mute]) == {}
    assert world.member("a").muted == {"audio": True, "video": False}

    assert len(world.offers_to("b")) == 1
    assert await world.send("b", EXAMPLES[SubscriberAnswer]) == {}
    assert world.subscriber("b").answers == ["answer"]

    assert await world.send("a", EXAMPLES[Unpublish]) == {}
    assert publisher.closed and world.member("a").publisher is None

    assert await world.send("b", EXAMPLES[Leave]) == {}
    assert world.live.member("b") is None


@pytest.mark.parametrize("cls", [c for c in HANDLERS if Sender.API not in c.senders], ids=lambda c: c.name)
async def test_a_participant_only_message_from_the_api_is_forbidden(world: World, cls: type[Message]) -> None:
    await world.arrive("a")
    before = list(world.notifier.calls)
    with pytest.raises(Forbidden, match="cannot be sent by the api"):
        await world.live.deliver(None, EXAMPLES[cls])
    with pytest.raises(Forbidden):
        await world.service.deliver(ROOM_ID, None, EXAMPLES[cls])
    assert world.notifier.calls == before
    assert world.sfu.created_publishers == []
    assert world.member("a").state is ParticipantState.IN_CALL


async def test_a_message_from_the_api_to_a_room_not_live_is_not_joined(world: World) -> None:
    with pytest.raises(NotJoined):
        await world.service.deliver(ROOM_ID, None, Mute("audio", True))


async def test_a_message_from_someone_not_in_the_room_is_not_joined(world: World) -> None:
    await world.arrive("a")
    with pytest.raises(NotJoined):
        await world.service.deliver(ROOM_ID, "b", Mute("audio", True))


# -- permissions -----------------------------------------------------------------------------------


async def test_a_viewers_publish_is_forbidden(world: World) -> None:
    await world.arrive("v")
    with pytest.raises(Forbidden, match="viewer"):
        await world.send("v", Publish("audio video"))
    assert world.sfu.created_publishers == []
    assert world.member("v").publisher is None


async def test_a_reconnecting_member_keeps_the_right_to_publish(world: World) -> None:
    """Permissions.of gives media rights while reconnecting: a WHIP publish in that window works."""
    b = await world.arrive("b")
    world.live.socket_lost(b, "sid-b")
    assert b.state is ParticipantState.RECONNECTING and b.permissions.publish
    ack = await world.send("b", Publish("audio"))
    assert ack["sdp"] == "answer audio"
    assert b.publisher is not None


@pytest.mark.parametrize("state", [ParticipantState.WAITING])
async def test_publish_reads_the_members_permissions(world: World, state: ParticipantState) -> None:
    """A member (who may publish by role) in the lobby may not: the state decides."""
    b = await world.arrive("b")
    b.state = state
    with pytest.raises(Forbidden, match=f"member who is {state.value}"):
        await world.send("b", Publish("audio video"))
    assert world.sfu.created_publishers == []


@pytest.mark.parametrize("state", [ParticipantState.WAITING])
async def test_a_member_outside_the_call_receives_no_offer(world: World, state: ParticipantState) -> None:
    await world.arrive("a")
    b = await world.arrive("b")
    b.state = state
    await world.publish("a")
    assert world.offers_to("b") == []
    assert b.subscriber is None


@given(role=st.sampled_from(Role), state=st.sampled_from(ParticipantState))
def test_permissions_follow_role_and_state(role: Role, state: ParticipantState) -> None:
    permissions = Permissions.of(role, state)
    in_call = state in (ParticipantState.IN_CALL, ParticipantState.RECONNECTING)
    media = in_call or state is ParticipantState.ON_HOLD  # held: connections kept, nothing forwarded
    assert permissions.subscribe is media
    assert permissions.publish is (media and role is not Role.VIEWER)
    assert permissions.moderate is (role is Role.HOST and state is not ParticipantState.LEFT)
    assert permissions.talk is in_call  # chat and hands: viewers too, never the lobby
    assert not permissions.publish or permissions.subscribe  # nobody publishes into a call they cannot see


# -- state transitions -----------------------------------------------------------------------------


async def test_arrival_seats_the_member_in_the_call(world: World) -> None:
    await world.arrive("a")
    b = await world.arrive("b")
    assert b.state is ParticipantState.IN_CALL and b.sid == "sid-b"
    welcome = world.notifier.to("sid-b", "welcome")
    assert len(welcome) == 1 and welcome[0]["resumed"] is False
    assert welcome[0]["you"]["state"] == "in_call"
    assert [p["id"] for p in welcome[0]["participants"]] == ["a"]
    joined = world.notifier.broadcasts(ROOM_ID, "participant_joined")
    assert [(j.data["id"], j.skip_sid) for j in joined] == [("a", "sid-a"), ("b", "sid-b")]
    assert await world.presence_ids() == ["a", "b"]


async def test_a_lost_socket_makes_the_member_reconnecting(world: World) -> None:
    await world.arrive("a")
    b = await world.arrive("b")
    world.notifier.clear()
    world.live.socket_lost(b, "sid-b")
    await settle()
    assert b.state is ParticipantState.RECONNECTING and b.sid is None
    [update] = world.notifier.broadcasts(ROOM_ID, "participant_updated")
    assert update.data["id"] == "b"
    assert update.data["state"] == "reconnecting" and update.data["connection"] == "reconnecting"
    assert await world.presence_ids() == ["a", "b"]  # their place is kept


async def test_a_stale_socket_lost_changes_nothing(world: World) -> None:
    b = await world.arrive("b")
    await world.arrive("b", "sid-b2")
    world.notifier.clear()
    world.live.socket_lost(b, "sid-b")  # the old socket's disconnect arrives late
    await settle()
    assert b.state is ParticipantState.IN_CALL and b.sid == "sid-b2" and b.grace is None
    assert world.notifier.calls == []


async def test_arriving_again_on_a_new_socket_resumes_and_drops_the_old_one(world: World) -> None:
    await world.arrive("a")
    b = await world.arrive("b")
    await world.publish("a")
    old_subscriber = world.subscriber("b")
    world.notifier.clear()

    again = await world.arrive("b", "sid-b2")
    assert again is b and b.state is ParticipantState.IN_CALL and b.sid == "sid-b2"
    assert [(d.target, d.event) for d in world.notifier.drops()] == [("sid-b", "replaced")]
    [welcome] = world.notifier.to("sid-b2", "welcome")
    assert welcome["resumed"] is True
    assert old_subscriber.closed  # the new socket makes new connections
    assert len(world.notifier.to("sid-b2", "subscriber_offer")) == 1
    assert world.subscriber("b") is not old_subscriber


async def test_resuming_after_a_lost_socket_drops_nothing(world: World) -> None:
    await world.arrive("a")
    b = await world.arrive("b")
    world.live.socket_lost(b, "sid-b")
    await settle()
    world.notifier.clear()
    await world.arrive("b", "sid-b2")
    assert b.state is ParticipantState.IN_CALL and b.grace is None
    assert world.notifier.drops() == []
    [update] = world.notifier.broadcasts(ROOM_ID, "participant_updated")
    assert update.data["state"] == "in_call" and update.skip_sid == "sid-b2"
    assert world.notifier.to("sid-b2", "welcome")[0]["resumed"] is True


async def test_arriving_again_on_the_same_socket_drops_nothing(world: World) -> None:
    await world.arrive("b")
    await world.arrive("b")
    assert world.notifier.drops() == []


async def test_the_reconnect_grace_expires_into_a_timeout(make_world: WorldFactory) -> None:
    world = await make_world(reconnect_grace=0.01)
    await world.arrive("a")
    b = await world.arrive("b")
    await world.publish("b")
    world.live.socket_lost(b, "sid-b")
    await asyncio.sleep(0.03)
    await settle()
    assert world.live.member("b") is None and b.state is ParticipantState.LEFT
    assert [x.data for x in world.notifier.broadcasts(ROOM_ID, "participant_left")] == \
        [{"id": "b", "reason": "timeout"}]
    assert b.publisher is None and world.sfu.publishers == {}
    assert await world.presence_ids() == ["a"]


async def test_arriving_within_the_grace_cancels_the_timeout(make_world: WorldFactory) -> None:
    world = await make_world(reconnect_grace=0.01)
    b = await world.arrive("b")
    world.live.socket_lost(b, "sid-b")
    await world.arrive("b", "sid-b2")
    await asyncio.sleep(0.03)
    await settle()
    assert world.live.member("b") is b and b.state is ParticipantState.IN_CALL
    assert world.notifier.broadcasts(ROOM_ID, "participant_left") == []


async def test_leaving_departs_frees_media_and_forgets_the_empty_room(world: World) -> None:
    await world.arrive("a")
    b = await world.arrive("b")
    publisher = await world.publish("a")
    await world.publish("b")
    b_subscriber = world.subscriber("b")
    world.notifier.clear()

    await world.send("b", Leave())
    assert b.state is ParticipantState.LEFT and world.live.member("b") is None
    assert b_subscriber.closed and world.sfu.created_publishers[1].closed
    [left] = world.notifier.broadcasts(ROOM_ID, "participant_left")
    assert left.data == {"id": "b", "reason": "left"}
    assert await world.presence_ids() == ["a"]
    assert world.rooms.get(ROOM_ID) is not None and world.closed_rooms == []

    await world.send("a", Leave())
    assert publisher.closed and world.sfu.publishers == {} and world.sfu.subscribers == {}
    assert world.rooms.get(ROOM_ID) is None and world.closed_rooms == [ROOM_ID]
    assert await world.presence_ids() == []


async def test_a_publisher_lost_from_below_tells_the_others_and_renegotiates(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    publisher = await world.publish("a")
    await world.answer_all("b")
    assert world.subscriber("b").sending == {t.id for t in publisher.tracks}
    world.notifier.clear()

    await publisher.lose()
    await settle()
    assert world.member("a").publisher is None
    assert world.subscriber("b").sending == set()
    assert len(world.offers_to("b")) == 1  # the tracks' m-lines go inactive
    [update] = world.notifier.broadcasts(ROOM_ID, "participant_updated")
    assert update.data["id"] == "a" and update.data["publishing"] == []
    assert world.live.member("a") is not None  # a socket member stays


async def test_a_whip_only_member_whose_connection_is_lost_leaves(world: World) -> None:
    await world.arrive("b")
    live = world.live
    member, _ = await live.arrive(PEOPLE["a"], None)  # WHIP: no socket
    await live.publish(member, "audio video")
    publisher = member.publisher
    assert isinstance(publisher, FakePublisher)
    await publisher.lose()
    await settle()
    assert live.member("a") is None
    assert world.notifier.broadcasts(ROOM_ID, "participant_left")[-1].data == {"id": "a", "reason": "left"}


# -- subscribe negotiation -------------------------------------------------------------------------


async def test_a_publish_makes_the_others_get_an_offer(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    assert world.offers_to("b") == []  # nothing to receive yet: no connection
    publisher = await world.publish("a")
    [offer] = world.offers_to("b")
    subscriber = world.subscriber("b")
    assert offer["connection"] == subscriber.id and offer["sdp"] == subscriber.offers[-1]
    assert sorted((t["participant_id"], t["kind"]) for t in offer["tracks"]) == [("a", "audio"), ("a", "video")]
    assert {t["mid"] for t in offer["tracks"]} == {f.mid for f in subscriber.forwarders}
    assert subscriber.sending == {t.id for t in publisher.tracks}
    assert world.offers_to("a") == []  # nobody else publishes


async def test_a_newcomer_gets_an_offer_of_what_is_live(world: World) -> None:
    await world.arrive("a")
    await world.publish("a")
    await world.arrive("b")
    [offer] = world.offers_to("b")
    assert {t["participant_id"] for t in offer["tracks"]} == {"a"}


async def test_changes_while_an_offer_is_pending_fold_into_one_more_round(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    await world.arrive("c")
    publisher = await world.publish("a", live=False)
    publisher.go_live(AUDIO)
    await settle()
    assert len(world.offers_to("b")) == 1  # round 1: a's audio

    publisher.go_live(VIDEO)  # two more changes while round 1 waits for b's answer
    await world.publish("c")
    assert len(world.offers_to("b")) == 1

    await world.answer("b")
    offers = world.offers_to("b")
    assert len(offers) == 2  # one more round, with everything
    assert sorted((t["participant_id"], t["kind"]) for t in offers[1]["tracks"]) == \
        [("a", "audio"), ("a", "video"), ("c", "audio"), ("c", "video")]
    await world.answer("b")
    assert len(world.offers_to("b")) == 2  # nothing more was asked for
    assert not world.member("b").negotiation.in_flight


async def test_a_refused_answer_ends_its_round(world: World) -> None:
    """Issue 9 §0: a failed answer left the round open and every later offer was folded away."""
    await world.arrive("a")
    await world.arrive("b")
    await world.arrive("c")
    await world.publish("a")
    assert len(world.offers_to("b")) == 1
    world.subscriber("b").refuse_answers = True
    with pytest.raises(InvalidAnswer):
        await world.send("b", SubscriberAnswer("garbage"))
    assert not world.member("b").negotiation.in_flight

    world.subscriber("b").refuse_answers = False
    await settle()
    await world.answer_all("b")  # a change folded into the refused round is offered again
    before = len(world.offers_to("b"))
    await world.publish("c")  # the next change still produces an offer
    offers = world.offers_to("b")
    assert len(offers) > before
    assert {t["participant_id"] for t in offers[-1]["tracks"]} == {"a", "c"}
    await world.answer_all("b")
    assert world.subscriber("b").answers and not world.member("b").negotiation.in_flight


#: What the others do while b receives: (who, offer) publishes, (who, None) stops, ("b", None) answers.
CHANGES = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["a", "c"]), st.sampled_from(["audio", "video", "audio video", None])),
        st.tuples(st.just("b"), st.none()),
    ),
    max_size=12,
)


@given(changes=CHANGES)
def test_rounds_never_overlap_and_the_last_offer_has_every_live_track(
        changes: list[tuple[str, str | None]]) -> None:
    """Whatever the others publish and stop, in any order with b's answers: b has at most one
    offer outstanding, and once b has answered everything, b receives exactly the live tracks."""

    async def run() -> None:
        world = build_world()
        try:
            for pid in ("a", "b", "c"):
                await world.arrive(pid)
            for who, offer in changes:
                b = world.member("b")
                pending, offered = b.negotiation.in_flight, len(world.offers_to("b"))
                if who == "b":
                    if pending:
                        await world.answer("b")
                elif offer is None:
                    await world.send(who, Unpublish())
                else:
                    await world.publish(who, offer)
                if pending and who != "b":
                    assert len(world.offers_to("b")) == offered  # folded, not sent over the pending one
            await world.answer_all("b")
            live = {t.id for t in world.live.live_tracks(exclude=world.member("b"))}
            subscriber = world.member("b").negotiation.open
            sending = set() if subscriber is None else {f.source.id for f in subscriber.forwarders}
            assert sending == live
            if live:
                assert subscriber is not None
                assert world.offers_to("b")[-1]["sdp"] == subscriber.offers[-1]
                assert {(t["participant_id"], t["kind"]) for t in world.offers_to("b")[-1]["tracks"]} == \
                    {(t.publisher_id.split(".")[0], t.kind.value) for t in world.live.live_tracks()
                     if t.publisher_id.split(".")[0] != "b"}
        finally:
            await world.service.close()

    asyncio.run(run())


async def test_an_answer_with_no_offer_is_refused(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    with pytest.raises(NoOfferPending):  # no connection at all
        await world.send("b", SubscriberAnswer("answer"))
    await world.publish("a")
    await world.answer_all("b")
    answers = list(world.subscriber("b").answers)
    with pytest.raises(NoOfferPending):  # the offers were answered already
        await world.send("b", SubscriberAnswer("answer"))
    assert world.subscriber("b").answers == answers


async def test_no_candidates_drops_the_connection_and_the_next_change_offers_again(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    publisher = await world.publish("a", live=False)
    world.sfu.no_candidates = True  # out of sockets: b's new connection gathers nothing
    publisher.go_live(AUDIO)
    await settle()
    [error] = world.notifier.to("sid-b", "error")
    assert error["code"] == "server_busy" and error["event"] == "subscriber_offer"
    assert world.member("b").subscriber is None and not world.member("b").negotiation.in_flight
    assert world.sfu.subscribers == {}  # the failed connection is closed

    world.sfu.no_candidates = False
    publisher.go_live(VIDEO)
    await settle()
    [offer] = world.offers_to("b")
    assert {t["kind"] for t in offer["tracks"]} == {"audio", "video"}


async def test_a_subscriber_lost_from_below_is_offered_again(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    await world.publish("a")
    await world.answer_all("b")
    offered = len(world.offers_to("b"))
    first = world.subscriber("b")
    await first.lose()
    await settle()
    assert world.subscriber("b") is not first and not world.subscriber("b").closed
    assert len(world.offers_to("b")) == offered + 1
    assert world.offers_to("b")[-1]["connection"] == world.subscriber("b").id


async def test_the_active_speaker_is_told_by_participant_id(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    publisher = await world.publish("a")
    publisher.track(AUDIO).on_audio_level.emit(0)  # RFC 6464: 0 is the loudest
    await settle()
    assert [x.data for x in world.notifier.broadcasts(ROOM_ID, "active_speaker")] == [{"id": "a"}]
    await world.publish("a", "video")  # the old publisher (and its audio) ends
    assert world.notifier.broadcasts(ROOM_ID, "active_speaker")[-1].data == {"id": None}


# -- publishing ------------------------------------------------------------------------------------


async def test_a_refused_offer_leaves_the_current_publisher(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    publisher = await world.publish("a")
    with pytest.raises(InvalidOffer):
        await world.send("a", Publish("refuse"))
    a = world.member("a")
    assert a.publisher is publisher and not publisher.closed and not a.publishing_offer
    assert a.publishing == ["audio", "video"]
    assert list(world.sfu.publishers) == [publisher.id]  # the refused one is closed and gone
    assert world.sfu.created_publishers[-1].closed


async def test_a_second_publish_replaces_the_first(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    first = await world.publish("a")
    second = await world.publish("a", "audio")
    assert first.closed and world.member("a").publisher is second
    assert list(world.sfu.publishers) == [second.id]
    assert world.member("a").publishing == ["audio"]


async def test_a_publish_while_one_is_in_flight_is_refused(world: World) -> None:
    await world.arrive("a")
    world.sfu.hold = asyncio.Event()
    first = asyncio.create_task(world.send("a", Publish("audio video")))
    await settle()
    assert world.member("a").publishing_offer
    with pytest.raises(NegotiationInProgress):
        await world.send("a", Publish("audio"))
    world.sfu.hold.set()
    assert (await first)["sdp"] == "answer audio video"
    assert not world.member("a").publishing_offer
    assert len(world.sfu.created_publishers) == 1


async def test_a_member_who_leaves_during_a_publish_leaves_no_publisher(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    world.sfu.hold = asyncio.Event()
    publishing = asyncio.create_task(world.send("a", Publish("audio video")))
    await settle()
    await world.send("a", Leave())
    world.notifier.clear()
    world.sfu.hold.set()
    with pytest.raises(NotJoined):
        await publishing
    await settle()
    [publisher] = world.sfu.created_publishers
    assert publisher.closed and world.sfu.publishers == {}
    assert world.notifier.calls == []  # nothing is announced of someone gone


async def test_a_connection_that_never_connects_is_closed_at_the_ice_deadline(make_world: WorldFactory) -> None:
    world = await make_world(ice_deadline=0.01)
    await world.arrive("a")
    await world.arrive("b")
    idle = await world.publish("a", live=False)  # its ICE never completes
    connected = await world.publish("b")
    world.subscriber("a").connect()
    await asyncio.sleep(0.03)
    await settle()
    assert idle.closed and world.member("a").publisher is None
    assert world.notifier.broadcasts(ROOM_ID, "participant_updated")[-1].data["publishing"] == []
    assert not connected.closed and not world.subscriber("a").closed


# -- mute ---------------------------------------------------------------------------------------------


async def test_a_mute_is_told_once(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    world.notifier.clear()
    await world.send("b", Mute("video", True))
    await world.send("b", Mute("video", True))  # no change: not broadcast
    await world.send("b", Mute("video", False))
    updates = world.notifier.broadcasts(ROOM_ID, "participant_updated")
    assert [(u.data["muted"]["video"], u.skip_sid) for u in updates] == [(True, "sid-b"), (False, "sid-b")]


# -- revocation ------------------------------------------------------------------------------------


async def test_revoking_a_participant_departs_them_alone(world: World) -> None:
    await world.arrive("a")
    c = await world.arrive("c")
    await world.publish("c")
    await world.service.revoke(Revocation(ROOM_ID, RevocationReason.PARTICIPANT_REMOVED, "c"))
    await settle()
    assert world.live.member("c") is None and c.state is ParticipantState.LEFT
    assert world.live.member("a") is not None
    assert world.notifier.broadcasts(ROOM_ID, "participant_left")[-1].data == \
        {"id": "c", "reason": "participant_removed"}
    assert world.sfu.publishers == {}


@pytest.mark.parametrize("reason", [RevocationReason.ROOM_ENDED, RevocationReason.ROOM_CANCELLED])
async def test_revoking_the_room_departs_everyone(world: World, reason: RevocationReason) -> None:
    await world.arrive("a")
    b = await world.arrive("b")
    world.live.socket_lost(b, "sid-b")
    await world.publish("a")
    await world.service.revoke(Revocation(ROOM_ID, reason))
    await settle()
    left = world.notifier.broadcasts(ROOM_ID, "participant_left")
    assert sorted(x.data["id"] for x in left) == ["a", "b"]
    assert {x.data["reason"] for x in left} == {reason.value}
    assert world.rooms.get(ROOM_ID) is None and world.closed_rooms == [ROOM_ID]
    assert b.grace is None  # the reconnect timer is gone with the member
    assert world.sfu.publishers == {} and world.sfu.subscribers == {}


async def test_a_closed_join_window_departs_only_the_reconnecting(world: World) -> None:
    a = await world.arrive("a")
    b = await world.arrive("b")
    c = await world.arrive("c")
    world.live.socket_lost(b, "sid-b")
    await world.service.revoke(Revocation(ROOM_ID, RevocationReason.TOKEN_EXPIRED))
    await settle()
    assert world.live.member("b") is None
    assert world.live.member("a") is a and world.live.member("c") is c
    assert a.state is ParticipantState.IN_CALL and c.state is ParticipantState.IN_CALL
    assert [x.data for x in world.notifier.broadcasts(ROOM_ID, "participant_left")] == \
        [{"id": "b", "reason": "token_expired"}]


async def test_revoking_a_room_not_live_is_harmless(world: World) -> None:
    await world.service.revoke(Revocation(ROOM_ID, RevocationReason.ROOM_ENDED))
    assert world.notifier.calls == []


# -- admission -----------------------------------------------------------------------------------------


async def test_a_full_worker_refuses_a_publish(make_world: WorldFactory) -> None:
    admission = Admission(max_peers=1)
    world = await make_world(admission=admission)
    await world.arrive("a")
    await world.arrive("b")
    await world.publish("a")  # the one peer this worker takes
    with pytest.raises(ServerBusy):
        await world.send("b", Publish("audio video"))
    assert len(world.sfu.created_publishers) == 1 and world.member("b").publisher is None
    assert not world.member("b").publishing_offer  # b may try again later
    assert admission.refused >= 1


async def test_a_full_worker_tells_a_member_it_cannot_offer(make_world: WorldFactory) -> None:
    world = await make_world(admission=Admission(max_peers=1))
    await world.arrive("a")
    await world.arrive("b")
    await world.publish("a", "audio")  # b's subscribe connection would be the second peer
    [error] = world.notifier.to("sid-b", "error")
    assert error == {"code": "server_busy", "message": error["message"], "event": "subscriber_offer"}
    assert "maximum of 1" in error["message"]
    assert world.offers_to("b") == [] and world.sfu.created_subscribers == []
    assert not world.member("b").negotiation.in_flight


async def test_a_refused_answer_still_runs_the_round_folded_into_it(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    await world.arrive("c")
    await world.publish("a")
    await world.answer_all("b")
    await world.publish("c")                 # b: a round for c's tracks, waiting for b's answer
    assert world.member("b").negotiation.in_flight
    offered = len(world.offers_to("b"))
    await world.send("a", Unpublish())       # folded into the next round
    world.subscriber("b").refuse_answers = True
    with pytest.raises(InvalidAnswer):
        await world.send("b", SubscriberAnswer("garbage"))
    await settle()
    assert len(world.offers_to("b")) == offered + 1   # the folded change is offered


# -- the lobby --------------------------------------------------------------------------------------


async def test_a_citizen_waits_and_learns_nothing_of_the_call(world: World) -> None:
    await world.arrive("a")
    await world.publish("a")
    waiting = await world.arrive("w")
    assert waiting.state is ParticipantState.WAITING and not waiting.permissions.publish
    welcome = world.notifier.to("sid-w", "welcome")[-1]
    assert welcome["you"]["state"] == "waiting" and welcome["participants"] == []
    assert welcome["active_speaker"] is None
    assert world.offers_to("w") == []  # receives nothing
    assert not [c for c in world.notifier.calls if c.how == "enter_call" and c.target == "sid-w"]
    assert [c for c in world.notifier.calls if c.how == "to_room" and "w" in (c.data.get("id"),)] == []
    assert [p["id"] for p in world.notifier.to("sid-a", "lobby")[-1]["waiting"]] == ["w"]  # the host is
    with pytest.raises(Forbidden):
        await world.send("w", Publish("audio video"))
    with pytest.raises(Forbidden, match="only a host"):
        await world.send("w", Admit("w"))


async def test_a_host_admits_and_the_admitted_joins_the_call(world: World) -> None:
    await world.arrive("a")
    await world.publish("a")
    await world.arrive("w")
    assert await world.send("a", Admit("w")) == {}
    member = world.member("w")
    assert member.state is ParticipantState.IN_CALL
    admitted = world.notifier.to("sid-w", "admitted")[-1]
    assert admitted["you"]["state"] == "in_call" and [p["id"] for p in admitted["participants"]] == ["a"]
    assert any(c.target == "sid-w" for c in world.notifier.calls if c.how == "enter_call")
    assert [c.data["id"] for c in world.notifier.broadcasts(ROOM_ID, "participant_joined")] == ["a", "w"]
    assert len(world.offers_to("w")) == 1  # media follows at once
    assert world.notifier.to("sid-a", "lobby")[-1] == {"waiting": []}
    with pytest.raises(NotWaiting):
        await world.send("a", Admit("w"))  # not waiting any more: 409 over the API


async def test_nobody_is_let_in_because_a_host_arrived(world: World) -> None:
    await world.arrive("w")
    await world.arrive("a")
    assert world.member("w").state is ParticipantState.WAITING
    assert [p["id"] for p in world.notifier.to("sid-a", "welcome")[-1]["lobby"]["waiting"]] == ["w"]


async def test_a_denied_participant_is_told_and_cannot_come_back_until_admitted(world: World) -> None:
    await world.arrive("a")
    await world.arrive("w")
    assert await world.send(None, Deny("w", "Proszę przyjść jutro")) == {}  # the integrator, too
    drop = world.notifier.drops()[-1]
    assert (drop.target, drop.event, drop.data) == ("sid-w", "denied", "Proszę przyjść jutro")
    assert world.live.member("w") is None
    with pytest.raises(Denied):
        await world.service.arrive(ROOM, PEOPLE["w"], "sid-w2")
    assert await world.send("a", Admit("w")) == {}  # re-admitted: the link works again
    again = await world.arrive("w", "sid-w3")
    assert again.state is ParticipantState.WAITING  # and they wait like anyone else


async def test_a_locked_room_makes_everyone_but_hosts_wait(world: World) -> None:
    await world.arrive("a")
    assert await world.send("a", Lock()) == {}
    assert world.notifier.broadcasts(ROOM_ID, "room_updated")[-1].data == {"locked": True}
    assert (await world.arrive("b")).state is ParticipantState.WAITING
    assert not world.live.may_watch(PEOPLE["c"])  # WHEP viewers wait too
    assert await world.send("a", AdmitAll()) == {}
    assert world.member("b").state is ParticipantState.IN_CALL
    await world.send("a", Unlock())
    assert (await world.arrive("c")).state is ParticipantState.IN_CALL
    with pytest.raises(Forbidden):
        await world.send("c", Lock())


async def test_a_waiting_participant_who_loses_the_socket_keeps_waiting(world: World) -> None:
    await world.arrive("a")
    member = await world.arrive("w")
    world.live.socket_lost(member, "sid-w")
    await settle()
    assert member.state is ParticipantState.WAITING and not member.permissions.subscribe
    assert world.notifier.broadcasts(ROOM_ID, "participant_updated") == []


async def test_those_waiting_learn_whether_a_host_is_there(world: World) -> None:
    await world.arrive("w")
    assert world.notifier.to("sid-w", "welcome")[-1]["hosts_present"] is False
    await world.arrive("a")
    assert world.notifier.to("sid-w", "lobby_status")[-1] == {"hosts_present": True}
    world.live.socket_lost(world.member("a"), "sid-a")
    await settle()
    assert world.notifier.to("sid-w", "lobby_status")[-1] == {"hosts_present": False}


async def test_a_denial_without_words_says_so(world: World) -> None:
    await world.arrive("a")
    await world.arrive("w")
    await world.send("a", Deny("w"))
    drop = world.notifier.drops()[-1]
    assert drop.event == "denied" and drop.data  # a default message, in English, for logs and tools


async def test_on_hold_a_member_keeps_their_connections_and_the_sfu_forwards_nothing_either_way(
        world: World) -> None:
    """A hold (a consultation's pause) pauses the held member's tracks and their subscribe connection; back in
    the call, both flow again. A connection opened while held is held too."""
    await world.arrive("a")
    b = await world.arrive("b")
    await world.publish("a")
    await world.answer_all("b")
    publisher = await world.publish("b")
    await world.live.change_state(b, ParticipantState.ON_HOLD)
    assert all(t.paused for t in publisher.tracks) and world.subscriber("b").paused
    assert b.publisher is publisher and b.subscriber is not None  # kept: nothing to renegotiate on resume
    again = await world.publish("b")  # a new publish connection while held is held at once
    assert all(t.paused for t in again.tracks)
    await world.live.change_state(b, ParticipantState.IN_CALL)
    assert not any(t.paused for t in again.tracks) and not world.subscriber("b").paused
    assert [u["state"] for u in world.notifier.to("sid-b", "participant_updated")][-2:] == ["on_hold", "in_call"]


async def test_a_held_member_who_reconnects_is_still_held(world: World) -> None:
    await world.arrive("a")
    b = await world.arrive("b")
    await world.live.change_state(b, ParticipantState.ON_HOLD)
    world.live.socket_lost(b, "sid-b")
    assert b.state is ParticipantState.ON_HOLD and b.view()["connection"] == "reconnecting"
    await world.arrive("b", "sid-b2")
    assert b.state is ParticipantState.ON_HOLD and b.view()["connection"] == "connected"


async def test_a_member_sent_back_to_the_lobby_waits_in_their_place_and_hears_the_call_no_more(
        world: World) -> None:
    await world.arrive("a")
    w = await world.arrive("w")
    await world.send("a", Admit("w"))
    await world.publish("w")
    world.notifier.clear()
    await world.live.change_state(w, ParticipantState.WAITING)
    assert w.state is ParticipantState.WAITING and w.publisher is None and w.subscriber is None
    assert ("leave_call", "sid-w") in [(c.how, c.target) for c in world.notifier.calls]
    back = world.notifier.to("sid-w", "sent_to_lobby")
    assert back and back[0]["you"]["state"] == "waiting" and back[0]["participants"] == []
    assert [c.data for c in world.notifier.broadcasts(ROOM_ID, "participant_left")] == [{"id": "w",
                                                                                        "reason": "lobby"}]
    assert [p["id"] for p in world.notifier.to("sid-a", "lobby")[-1]["waiting"]] == ["w"]
    await world.send("a", Admit("w"))  # admitted again, as the first time
    assert w.state is ParticipantState.IN_CALL and world.notifier.to("sid-w", "admitted")
