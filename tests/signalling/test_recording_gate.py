"""The recording-consent gate and invited guests in the live room, on the fakes of tests/signalling/world.py.

The gate: recording starts only when everyone in the call agreed (hosts too), someone entering
without having agreed pauses it until they agree or leave, every answer and change is a room
event. Invited guests: whatever the model, they wait for a host; a host's invite messages reach
the booking side (`HostDecisions`), nobody else's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rooms.model import ConferencingModel, Participant, Party, Role
from signalling.errors import BadRequest, Forbidden, InviteRefused, RecordingConsentMissing
from signalling.member import ParticipantState
from signalling.messages import (
    Admit,
    CreateInvite,
    RecordingConsent,
    RecordingView,
    RevokeInvite,
    StartRecording,
    StopRecording,
    parse_message,
)
from tests.signalling.fakes import FakeEvents
from tests.signalling.world import ROOM, ROOM_ID, World, build_world, person, settle

Recorded = tuple[World, FakeEvents]


@pytest.fixture
async def world() -> AsyncIterator[World]:
    made = build_world()
    yield made
    await made.service.close()


def kinds(events: FakeEvents, prefix: str = "recording.") -> list[tuple[str, str | None, Any]]:
    return [(e.type, e.participant_id or e.by, dict(e.data)) for e in events.events if e.type.startswith(prefix)]


def last_state(world: World) -> dict[str, Any]:
    sent = world.notifier.broadcasts(ROOM_ID, "recording")
    assert sent, "nobody was told the recording state"
    state: dict[str, Any] = sent[-1].data
    return state


async def agree(world: World, *pids: str, granted: bool = True) -> None:
    for pid in pids:
        assert await world.send(pid, RecordingConsent(granted)) == {}


# -- the gate ----------------------------------------------------------------------------------------


async def test_start_is_refused_until_everyone_in_the_call_agreed(recorded_world: Recorded) -> None:
    world, events = recorded_world
    for pid in "abc":
        await world.arrive(pid)
    await world.arrive("w")  # waits in the lobby: not in the call, so not asked
    await agree(world, "a", "b")
    with pytest.raises(RecordingConsentMissing, match=r"1 of 3 participants .*: c$") as refused:
        await world.send("a", StartRecording())
    assert refused.value.code == "recording_consent_missing"
    assert world.notifier.to("sid-c", "recording_consent_requested") == [{}]  # asked; nobody else
    assert world.notifier.to("sid-b", "recording_consent_requested") == []
    assert world.notifier.to("sid-w", "recording_consent_requested") == []
    assert last_state(world) == {"active": False, "since": None, "paused": False, "missing": ["c"]}

    await agree(world, "c")
    ack = await world.send("a", StartRecording())
    assert ack["recording"]["active"] is True and ack["recording"]["paused"] is False
    assert ack["recording"]["since"] is not None and ack["recording"]["missing"] == []
    assert last_state(world) == ack["recording"]
    assert kinds(events) == [("recording.consent", "a", {"granted": True}),
                             ("recording.consent", "b", {"granted": True}),
                             ("recording.consent", "c", {"granted": True}),
                             ("recording.started", "a", {})]


async def test_a_host_must_agree_too_and_only_a_host_starts(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    await agree(world, "b")
    with pytest.raises(Forbidden):
        await world.send("b", StartRecording())
    with pytest.raises(RecordingConsentMissing, match=r": a$"):
        await world.send("a", StartRecording())
    with pytest.raises(RecordingConsentMissing, match=r": a$"):
        await world.send(None, StartRecording())  # the integrator, through the API: the same gate
    assert world.notifier.to("sid-a", "recording_consent_requested") == [{}, {}]


async def test_someone_entering_the_call_pauses_recording_until_they_agree(recorded_world: Recorded) -> None:
    world, events = recorded_world
    await world.arrive("a")
    await world.arrive("b")
    await agree(world, "a", "b")
    await world.send("a", StartRecording())
    since = last_state(world)["since"]

    await world.arrive("w")  # waits: the call is not changed, recording goes on
    assert last_state(world)["paused"] is False
    await world.send("a", Admit("w"))  # in the call without having agreed: paused at once
    assert last_state(world) == {"active": True, "since": since, "paused": True, "missing": ["w"]}
    assert world.live.recording.recording is False
    assert world.notifier.to("sid-w", "recording_consent_requested") == [{}]
    assert world.notifier.to("sid-w", "admitted")[0]["recording"]["active"] is True

    await agree(world, "w")
    assert last_state(world) == {"active": True, "since": since, "paused": False, "missing": []}
    assert world.live.recording.recording is True
    assert [k for k, _, _ in kinds(events)][-4:] == ["recording.started", "recording.paused",
                                                     "recording.consent", "recording.resumed"]
    assert kinds(events)[-3][2] == {"missing": 1}


async def test_a_withdrawal_pauses_and_a_leaver_who_refused_lets_it_resume(recorded_world: Recorded) -> None:
    world, events = recorded_world
    for pid in "abc":
        await world.arrive(pid)
    await agree(world, "a", "b", "c")
    await world.send("a", StartRecording())
    await agree(world, "c", granted=False)
    assert last_state(world)["paused"] is True and last_state(world)["missing"] == ["c"]
    await agree(world, "c", granted=False)  # the same answer again: not recorded twice
    assert [k for k, p, d in kinds(events)].count("recording.consent") == 4
    await world.send("c", parse_message("leave", {}))
    assert last_state(world) == {**last_state(world), "paused": False, "missing": []}
    assert "c" not in world.live.recording.consents  # freed with the member


async def test_the_answer_goes_with_the_leaver_and_returning_asks_again(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    await agree(world, "a", "b")
    await world.send("b", parse_message("leave", {}))
    await world.arrive("b", "sid-b2")
    with pytest.raises(RecordingConsentMissing, match=r": b$"):
        await world.send("a", StartRecording())


async def test_a_reconnect_keeps_the_answer(world: World) -> None:
    await world.arrive("a")
    member = await world.arrive("b")
    await agree(world, "a", "b")
    world.live.socket_lost(member, "sid-b")
    await world.arrive("b", "sid-b2")
    assert (await world.send("a", StartRecording()))["recording"]["active"] is True


async def test_stop_and_an_emptied_room_end_recording(recorded_world: Recorded) -> None:
    world, events = recorded_world
    await world.arrive("a")
    await agree(world, "a")
    await world.send("a", StartRecording())
    assert await world.send("a", StopRecording()) == {}
    assert last_state(world) == {"active": False, "since": None, "paused": False, "missing": []}
    assert await world.send("a", StopRecording()) == {}  # again: nothing happens
    await world.send(None, StartRecording())
    await world.send("a", parse_message("leave", {}))
    assert [(k, p, d) for k, p, d in kinds(events) if k in ("recording.started", "recording.stopped")] == [
        ("recording.started", "a", {}), ("recording.stopped", "a", {"reason": "stopped"}),
        ("recording.started", "api", {}), ("recording.stopped", "system", {"reason": "room_empty"})]


async def test_the_api_reads_the_gate_with_who_answered(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    await world.arrive("w")
    await agree(world, "a")
    await agree(world, "w", granted=False)  # a waiting person may answer ahead
    view = await world.send(None, RecordingView())
    assert view["active"] is False and view["missing"] == ["b"]
    assert [(c["participant_id"], c["granted"]) for c in view["consents"]] == [("a", True), ("w", False)]
    with pytest.raises(Forbidden):
        await world.send("a", RecordingView())


async def test_nobody_in_the_call_cannot_be_recorded(world: World) -> None:
    await world.arrive("w")  # only a waiting citizen: the room is live, its call empty
    with pytest.raises(RecordingConsentMissing, match="nobody"):
        await world.send(None, StartRecording())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcw"), st.sampled_from(["agree", "refuse", "start", "stop", "admit",
                                                                      "leave"])), max_size=12))
async def test_property_never_recording_anyone_who_did_not_agree(steps: list[tuple[str, str]]) -> None:
    """Whatever happens in whatever order, while recording is on everyone in the call has agreed."""
    world = build_world()
    try:
        for pid in "abcw":
            await world.arrive(pid)
        for pid, step in steps:
            member = world.live.member(pid)
            if member is None:
                continue
            try:
                if step in ("agree", "refuse"):
                    await world.send(pid, RecordingConsent(step == "agree"))
                elif step == "start":
                    await world.send("a", StartRecording())
                elif step == "stop":
                    await world.send("a", StopRecording())
                elif step == "admit" and member.state is ParticipantState.WAITING:
                    await world.send("a", Admit(pid))
                elif step == "leave" and pid != "a":
                    await world.send(pid, parse_message("leave", {}))
            except RecordingConsentMissing:
                pass
            gate = world.live.recording
            present = [m.id for m in world.live.in_call()]
            if gate.recording:
                assert all(gate.consents[p].granted for p in present)
            assert set(gate.consents) <= set(world.live.members)
    finally:
        await world.service.close()


# -- invited guests ------------------------------------------------------------------------------------


def guest(pid: str = "g", party: Party = Party.ADMINISTRATION) -> Participant:
    return replace(person(pid, Role.MEMBER, party), invite_id=f"invite-of-{pid}")


@pytest.mark.parametrize("model", list(ConferencingModel))
async def test_an_invited_guest_always_waits_for_a_host(world: World, model: ConferencingModel) -> None:
    room = replace(ROOM, model=model)  # A2A too, where nobody waits: a guest does
    await world.service.arrive(room, person("a", Role.HOST), "sid-a")
    await world.service.arrive(room, guest(), "sid-g")
    await settle()
    assert world.member("g").state is ParticipantState.WAITING
    assert world.notifier.to("sid-g", "welcome")[0]["participants"] == []
    lobby = world.notifier.to("sid-a", "lobby")[-1]["waiting"]
    assert [(w["id"], w["invited"]) for w in lobby] == [("g", True)]
    assert world.live.may_watch(guest()) is False
    await world.send("a", Admit("g"))
    assert world.member("g").state is ParticipantState.IN_CALL


async def test_a_booked_participant_is_not_marked_invited(world: World) -> None:
    await world.arrive("a")
    await world.arrive("w")
    assert world.notifier.to("sid-a", "lobby")[-1]["waiting"][0]["invited"] is False


async def test_a_host_makes_and_revokes_invites_through_the_booking_side(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    ack = await world.send("a", CreateInvite("family_member", 45))
    assert ack == {"invite": {"id": "invite-1", "purpose": "family_member", "url": "http://node/invite/code"}}
    assert await world.send("a", RevokeInvite("invite-1")) == {}
    assert world.decisions.calls == [("invite", ROOM.tenant, ROOM_ID, "family_member", "45", "a"),
                                     ("revoke_invite", ROOM.tenant, ROOM_ID, "invite-1", "a")]
    with pytest.raises(Forbidden):
        await world.send("b", CreateInvite("interpreter", 30))
    with pytest.raises(Forbidden):
        await world.send("b", RevokeInvite("invite-1"))
    with pytest.raises(Forbidden):
        await world.send(None, CreateInvite("interpreter", 30))  # the integrator has its REST route
    world.decisions.refuse = InviteRefused("this room already has 5 invites that can still be used")
    with pytest.raises(InviteRefused):
        await world.send("a", CreateInvite("interpreter", 30))
    assert len(world.decisions.calls) == 2


@pytest.mark.parametrize("minutes", [4, 301, 0, -5, 10**9])
def test_an_invite_lifetime_outside_5_minutes_to_5_hours_is_refused(minutes: int) -> None:
    with pytest.raises(BadRequest, match="'expires_in_minutes' must be from 5 to 300"):
        parse_message("create_invite", {"purpose": "interpreter", "expires_in_minutes": minutes})


@pytest.mark.parametrize("data", [{"purpose": "interpreter", "expires_in_minutes": True},
                                  {"purpose": "interpreter", "expires_in_minutes": 30.0},
                                  {"purpose": "interpreter", "expires_in_minutes": "30"},
                                  {"purpose": "doctor", "expires_in_minutes": 30},
                                  {"expires_in_minutes": 30}, [], "x"])
def test_a_malformed_create_invite_is_a_bad_request(data: Any) -> None:
    with pytest.raises(BadRequest):
        parse_message("create_invite", data)


def test_the_message_purposes_are_the_domain_ones() -> None:
    import typing

    from rooms.guest_invites import Purpose

    hint = typing.get_type_hints(CreateInvite)["purpose"]
    assert set(typing.get_args(hint)) == {p.value for p in Purpose}


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["create_invite", "revoke_invite", "recording_consent", "start_recording",
                        "stop_recording"]),
       st.one_of(st.none(), st.dictionaries(st.sampled_from(["purpose", "expires_in_minutes", "invite_id",
                                                             "granted", "x"]),
                                            st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                                                      st.text(max_size=80), st.sampled_from(
                                                          ["interpreter", "family_member", "clinician"]))),
                 st.lists(st.integers(), max_size=3), st.text(max_size=10)))
def test_property_any_payload_parses_or_is_a_bad_request(name: str, data: Any) -> None:
    try:
        message = parse_message(name, data)
    except BadRequest:
        return
    assert message.name == name
    if isinstance(message, CreateInvite):
        assert 5 <= message.expires_in_minutes <= 300 and type(message.expires_in_minutes) is int
