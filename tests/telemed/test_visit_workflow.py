"""The Consultation workflow on the fake live-room world (tests/telemed/visit_world.py): who waits, identity
confirmed at admission, hold and resume (media paused both ways), back to the waiting room, the timer, the end of
the slot, completion once with its outcome, the patient's in-person request, and the events of each."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from rooms.clock import ManualClock
from rooms.model import ConferencingModel
from signalling.errors import BadRequest, Forbidden, NotJoined
from signalling.member import ParticipantState
from signalling.messages import Admit, ChatSend, parse_message
from telemed.consultation import SLOT_WARNING, warning_from_env
from telemed.outcome import VisitOutcome
from telemed.visit_errors import NotInVisit, VisitCompleted
from telemed.visit_messages import (
    VisitComplete,
    VisitHold,
    VisitRequestInPerson,
    VisitResume,
    VisitSendBack,
)
from tests.signalling.world import settle
from tests.telemed.visit_world import NOW, VISIT, VisitWorld, visit_world


async def in_visit(v: VisitWorld) -> None:
    """The clinician in, the patient admitted with their identity confirmed, both publishing."""
    await v.arrive("d")
    await v.arrive("p")
    await v.send("d", Admit("p", identity_confirmed=True))
    await v.world.publish("d")
    await v.world.publish("p")
    await v.world.answer_all("p")
    await v.world.answer_all("d")


async def test_patients_wait_whatever_the_model_and_clinicians_go_in(tmp_path: Path) -> None:
    room = replace(VISIT, model=ConferencingModel.A2A)  # in a meeting of this model nobody would wait
    async with visit_world(tmp_path, room=room) as v:
        d = await v.arrive("d")
        p = await v.arrive("p")
        g = await v.arrive("g")
        assert d.state is ParticipantState.IN_CALL
        assert p.state is g.state is ParticipantState.WAITING
        waiting = [e for e in v.events.events if e.type == "consultation.patient_waiting"]
        assert [e.participant_id for e in waiting] == ["p", "g"] and all(not e.data for e in waiting)


async def test_the_clinicians_admit_confirms_identity_and_starts_the_visit_once(tmp_path: Path) -> None:
    async with visit_world(tmp_path) as v:
        await v.arrive("d")
        await v.arrive("p")
        assert v.visit_views()[-1]["timer"]["started_at"] is None
        await v.send("d", Admit("p", identity_confirmed=True))
        admitted = next(e for e in v.events.events if e.type == "lobby.admitted")
        assert admitted.participant_id == "p" and admitted.by == "d" and admitted.data == {"identity_confirmed": True}
        started = [e for e in v.events.events if e.type == "consultation.started"]
        assert [e.participant_id for e in started] == ["p"]
        timer = v.visit_views()[-1]["timer"]
        assert timer["started_at"] == NOW.isoformat() and timer["running"] is True
        await v.send("d", VisitSendBack("p"))
        await v.send("d", Admit("p"))  # admitted again: the visit started once; no confirmation claimed
        assert v.types().count("consultation.started") == 1
        assert [e.data for e in v.events.events if e.type == "lobby.admitted"][-1] == {}


async def test_hold_pauses_the_patients_media_both_ways_and_resume_restores_it(tmp_path: Path) -> None:
    async with visit_world(tmp_path) as v:
        await in_visit(v)
        p = v.world.member("p")
        publisher, subscriber = p.publisher, v.world.subscriber("p")
        assert publisher is not None
        await v.send("d", VisitHold("p"))
        assert p.state is ParticipantState.ON_HOLD
        assert all(t.paused for t in publisher.tracks) and subscriber.paused  # nothing from them, nothing to them
        assert p.publisher is publisher and v.world.subscriber("p") is subscriber  # their connections stay
        assert v.world.notifier.to("sid-p", "participant_updated")[-1]["state"] == "on_hold"  # their notice
        assert v.visit_views()[-1]["on_hold"] == ["p"]
        assert (await v.send("d", VisitHold("p"))) == {}  # again: nothing changes
        with pytest.raises(Forbidden):
            await v.send("p", ChatSend("hello?"))  # outside the call: no chat either
        await v.send("d", VisitResume("p"))
        assert p.state is ParticipantState.IN_CALL
        assert not any(t.paused for t in publisher.tracks) and not subscriber.paused
        assert v.visit_views()[-1]["on_hold"] == []


async def test_only_a_clinician_holds_resumes_or_sends_back_and_only_a_patient_in_the_visit(tmp_path: Path) -> None:
    async with visit_world(tmp_path) as v:
        await v.arrive("d")
        await v.arrive("p")
        await v.arrive("g")
        with pytest.raises(NotInVisit):
            await v.send("d", VisitHold("p"))  # waiting: not in the call
        with pytest.raises(NotInVisit):
            await v.send("d", VisitSendBack("p"))
        await v.send("d", Admit("p"))
        await v.send("d", Admit("g"))
        for message in (VisitHold("g"), VisitResume("g"), VisitSendBack("g"), VisitComplete("completed")):
            with pytest.raises(Forbidden):
                await v.send("p", message)
        with pytest.raises(Forbidden):
            await v.send("d", VisitHold("d"))  # a clinician is not held
        with pytest.raises(NotJoined):
            await v.send("d", VisitHold("nobody"))
        with pytest.raises(NotInVisit):
            await v.send("d", VisitResume("p"))  # not on hold
        with pytest.raises(Forbidden):
            await v.send(None, VisitHold("p"))  # the API is no clinician


async def test_sent_back_the_patient_waits_in_their_place_and_may_be_admitted_again(tmp_path: Path) -> None:
    async with visit_world(tmp_path) as v:
        await in_visit(v)
        await v.arrive("g")  # arrives later: waits behind the patient
        p = v.world.member("p")
        await v.send("d", VisitHold("p"))
        await v.send("d", VisitSendBack("p"))  # from hold too
        assert p.state is ParticipantState.WAITING and p.publisher is None and p.subscriber is None
        assert [w["id"] for w in v.world.notifier.to("sid-d", "lobby")[-1]["waiting"]] == ["p", "g"]
        assert v.world.notifier.to("sid-p", "sent_to_lobby")[-1]["you"]["state"] == "waiting"
        assert v.types().count("consultation.patient_waiting") == 3  # p, g, and p again
        assert v.visit_views()[-1]["timer"]["running"] is False  # nobody with the clinician now
        await v.send("d", Admit("p", identity_confirmed=True))
        assert p.state is ParticipantState.IN_CALL and v.visit_views()[-1]["timer"]["running"] is True


async def test_the_timer_counts_time_in_call_and_stops_while_a_side_is_away(tmp_path: Path) -> None:
    async with visit_world(tmp_path) as v:
        clock = v.world.rooms.clock
        assert isinstance(clock, ManualClock)
        await in_visit(v)
        clock.advance(timedelta(seconds=100))
        await v.send("d", VisitHold("p"))  # on hold still counts: the visit goes on
        clock.advance(timedelta(seconds=20))
        v.world.live.socket_lost(v.world.member("p"), "sid-p")  # the patient's phone drops
        await settle()
        assert v.visit_views()[-1]["timer"] | {"at": None} == {
            "started_at": NOW.isoformat(), "elapsed_seconds": 120, "running": False, "at": None}
        clock.advance(timedelta(seconds=15))  # not counted
        await v.arrive("p", "sid-p2")
        assert v.world.member("p").state is ParticipantState.ON_HOLD  # still held after reconnecting
        clock.advance(timedelta(seconds=5))
        v.world.live.socket_lost(v.world.member("d"), "sid-d")  # now the clinician's side
        await settle()
        assert v.visit_views()[-1]["timer"]["elapsed_seconds"] == 125
        assert v.visit_views()[-1]["timer"]["running"] is False


async def test_completing_records_the_outcome_once_and_ends_the_visit_for_everyone(tmp_path: Path) -> None:
    async with visit_world(tmp_path) as v:
        await in_visit(v)
        v.world.rooms.clock.advance(timedelta(minutes=7))  # type: ignore[attr-defined]
        note = "Zalecenia: odpoczynek.\nKontrola za 2 tygodnie."
        assert await v.send("d", VisitComplete("in_person_needed", note)) == {}
        await settle()
        record = await v.records.read(VISIT.id)
        assert record is not None and record.outcome is VisitOutcome.IN_PERSON_NEEDED and record.note == note
        assert record.completed_by == "d" and record.in_call_seconds == 420 and record.started_at == NOW
        completed = [e for e in v.events.events if e.type == "consultation.completed"]
        assert [(e.by, dict(e.data)) for e in completed] == [("d", {"outcome": "in_person_needed",
                                                                    "in_call_seconds": 420})]
        assert note not in repr(v.events.events)  # the note is in no event
        assert v.store is not None  # written with the outcome, in its transaction: on the room's trail
        entries, check = await v.store.audit_trail(VISIT.id)
        assert check.ok and [e.type for e in entries] == ["consultation.completed"]
        assert v.world.decisions.calls == [("end", VISIT.tenant, VISIT.id, "d")]  # the end_meeting path


async def test_a_second_completion_is_refused_clearly(tmp_path: Path) -> None:
    async with visit_world(tmp_path) as v:
        await in_visit(v)
        v.world.decisions.revoke = None  # the room stays up, so that the clinician can try again
        await v.send("d", VisitComplete("completed"))
        with pytest.raises(VisitCompleted, match="recorded once"):
            await v.send("d", VisitComplete("technical_failure"))
        record = await v.records.read(VISIT.id)
        assert record is not None and record.outcome is VisitOutcome.COMPLETED
        assert v.types().count("consultation.completed") == 1


async def test_the_store_refuses_a_second_outcome_of_another_live_room(tmp_path: Path) -> None:
    async with visit_world(tmp_path) as v:
        await v.records.complete(VISIT.tenant, VISIT.id, VisitOutcome.NO_SHOW, None, "d", NOW, None, 0)
        await v.arrive("d")
        with pytest.raises(VisitCompleted):
            await v.send("d", VisitComplete("completed"))


async def test_a_no_show_is_told_as_such(tmp_path: Path) -> None:
    async with visit_world(tmp_path) as v:
        await v.arrive("d")  # the patient never comes
        await v.send("d", VisitComplete("no_show"))
        assert [t for t in v.types() if t.startswith("consultation.")] == ["consultation.completed",
                                                                           "consultation.no_show"]
        record = await v.records.read(VISIT.id)
        assert record is not None and record.in_call_seconds == 0 and record.started_at is None


@pytest.mark.parametrize("note", ["\u202eodwrócone", "a\rb", "\n\n", "x" * 2001])
async def test_a_note_that_is_not_lines_of_visible_text_is_refused(tmp_path: Path, note: str) -> None:
    async with visit_world(tmp_path) as v:
        await v.arrive("d")
        with pytest.raises(BadRequest, match="note"):
            await v.send("d", parse_message("visit_complete", {"outcome": "completed", "note": note}))
        assert await v.records.read(VISIT.id) is None


async def test_the_patient_asks_for_an_in_person_visit_from_the_lobby_or_the_call(tmp_path: Path) -> None:
    async with visit_world(tmp_path) as v:
        await v.arrive("d")
        await v.arrive("p")
        ack = await v.send("p", VisitRequestInPerson())  # while still waiting
        assert ack == {"requested_at": NOW.isoformat()}
        assert v.visit_views()[-1]["in_person_requests"] == [{"participant_id": "p", "at": NOW.isoformat()}]
        assert await v.send("p", VisitRequestInPerson()) == ack  # again: recorded once
        assert [(e.type, e.participant_id) for e in v.events.events if e.type.endswith("in_person_requested")] \
            == [("consultation.in_person_requested", "p")]
        with pytest.raises(Forbidden):
            await v.send("d", VisitRequestInPerson())


async def test_the_clinician_is_warned_before_the_slot_ends_and_when_it_does(tmp_path: Path) -> None:
    room = replace(VISIT, ends_at=NOW + timedelta(seconds=0.4))
    async with visit_world(tmp_path, warning=timedelta(seconds=0.2), room=room) as v:
        await v.arrive("d")
        await v.arrive("p")
        deadline = asyncio.get_running_loop().time() + 5
        while len(v.world.notifier.to("sid-d", "visit_slot")) < 2:
            assert asyncio.get_running_loop().time() < deadline, "no end-of-slot warnings"
            await asyncio.sleep(0.05)
        phases = [s["phase"] for s in v.world.notifier.to("sid-d", "visit_slot")]
        assert phases == ["ending", "ended"]
        assert v.world.notifier.to("sid-p", "visit_slot") == []  # the clinician's alone


async def test_a_clinician_arriving_after_the_slot_ended_is_told_at_once(tmp_path: Path) -> None:
    room = replace(VISIT, starts_at=NOW - timedelta(hours=1), ends_at=NOW - timedelta(minutes=1))
    async with visit_world(tmp_path, room=room) as v:
        await v.arrive("d")
        assert [s["phase"] for s in v.world.notifier.to("sid-d", "visit_slot")] == ["ended"]


async def test_the_timers_totals_outlive_the_live_room(tmp_path: Path) -> None:
    async with visit_world(tmp_path) as v:
        await in_visit(v)
        v.world.rooms.clock.advance(timedelta(seconds=90))  # type: ignore[attr-defined]
        await v.world.live.depart(v.world.member("p"), "left")
        await v.world.live.depart(v.world.member("d"), "left")  # the live room closes: totals kept
        record = await v.records.read(VISIT.id)
        assert record is not None and record.in_call_seconds == 90 and record.outcome is None
        await v.arrive("d")
        assert v.visit_views()[-1]["timer"]["elapsed_seconds"] == 90  # taken up again


def test_the_slot_warning_is_configured_in_seconds() -> None:
    assert warning_from_env({}) == SLOT_WARNING == timedelta(minutes=5)
    assert warning_from_env({"KONSYLIUM_VISIT_SLOT_WARNING": "120"}) == timedelta(minutes=2)
    for bad in ("-1", "5m", "3601"):
        with pytest.raises(ValueError, match="KONSYLIUM_VISIT_SLOT_WARNING"):
            warning_from_env({"KONSYLIUM_VISIT_SLOT_WARNING": bad})
