"""The Consultation workflow: a video visit between a clinician (a host) and a patient, in a live room.

It claims rooms of kind ``consultation`` (signalling/workflow.py). Patients — everyone but a
host — wait in the lobby on arrival whatever the room's model; clinicians go in. The
clinician's admit there confirms the patient's identity (the client sends
``identity_confirmed: true``, kept in the ``lobby.admitted`` event). In the visit the
clinician may put a patient on hold (their media paused both ways at the SFU, a notice on
their screen), resume, send them back to the waiting room, and complete the visit with an
outcome and a short note (recorded once, then the visit ends for everyone as ``end_meeting``
ends it). The patient may ask for an in-person visit at any time.

The visit's timer starts at the first admission and counts time in call while both sides
are there and connected (a patient on hold is still in the visit); everyone in the call sees
it (``visit``). Clinicians get ``visit_slot`` some minutes before the room's ``ends_at``
(`warning_from_env`: ``KONSYLIUM_VISIT_SLOT_WARNING`` seconds, 300 by default) and when it
passes. Records that outlive the live room go to the store through front calls
(telemed/visit_records.py), so the workflow runs the same in a media worker.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rooms.model import Kind, Participant, Role, Room
from signalling.errors import BadRequest, Forbidden, NotJoined
from signalling.live_room import LiveRoom
from signalling.member import Member, ParticipantState
from signalling.messages import EndMeeting, Message
from signalling.workflow import WorkflowHandler
from telemed import visit_events
from telemed.outcome import VisitOutcome, note_problem
from telemed.visit_errors import NotInVisit, VisitCompleted
from telemed.visit_messages import VisitComplete, VisitHold, VisitRequestInPerson, VisitResume, VisitSendBack
from telemed.visit_records import COMPLETE, LOAD, SAVE
from telemed.visit_timer import VisitTimer

__all__ = ["SLOT_WARNING", "Consultation", "warning_from_env"]

log = logging.getLogger(__name__)
#: How long before a room's ``ends_at`` its clinicians are warned, unless configured.
SLOT_WARNING = timedelta(minutes=5)
WARNING_VARIABLE = "KONSYLIUM_VISIT_SLOT_WARNING"
#: In the visit: their media counts for the timer, a clinician may hold or send them back.
IN_VISIT = (ParticipantState.IN_CALL, ParticipantState.ON_HOLD)


def warning_from_env(env: Mapping[str, str] | None = None) -> timedelta:
    """The end-of-slot warning's lead time: ``KONSYLIUM_VISIT_SLOT_WARNING`` seconds (0 to 3600; 0: only when
    the slot ends), else `SLOT_WARNING`. Read where the workflow is built: the front and each media worker
    (which inherit the front's environment)."""
    raw = (os.environ if env is None else env).get(WARNING_VARIABLE, "").strip()
    if not raw:
        return SLOT_WARNING
    if not raw.isdigit() or int(raw) > 3600:
        raise ValueError(f"{WARNING_VARIABLE}: {raw[:20]!r} is not a number of seconds (0-3600)")
    return timedelta(seconds=int(raw))


@dataclass(eq=False)
class Visit:
    """What the workflow keeps of one consultation in progress (freed when its live room empties)."""

    room: Room
    loading: asyncio.Future[None]
    timer: VisitTimer = field(default_factory=VisitTimer)
    outcome: VisitOutcome | None = None
    completing: bool = False
    #: participant id -> when they asked for an in-person visit (RFC 3339)
    in_person: dict[str, str] = field(default_factory=dict)
    slot: str = "open"  # "open", "ending" (within the warning), "ended" (past ends_at)
    alarms: list[asyncio.TimerHandle] = field(default_factory=list)

    def close(self) -> None:
        for alarm in self.alarms:
            alarm.cancel()
        self.alarms.clear()
        if not self.loading.done():
            self.loading.cancel()


def _is_clinician(member: Member) -> bool:
    return member.participant.role is Role.HOST


class Consultation:
    """The `signalling.workflow.Workflow` of consultation rooms (built by name in media workers too)."""

    def __init__(self, warning: timedelta | None = None) -> None:
        self.warning = warning_from_env() if warning is None else warning
        self._visits: dict[str, Visit] = {}  # by room id, while its live room is open

    # -- the seam ------------------------------------------------------------------------------

    def claims(self, room: Room) -> bool:
        return room.kind is Kind.CONSULTATION

    def admission(self, room: Room, participant: Participant) -> ParticipantState:
        """Clinicians (hosts) go in; every patient waits until a clinician confirms who it is and admits them."""
        return ParticipantState.IN_CALL if participant.role is Role.HOST else ParticipantState.WAITING

    async def joined(self, live: LiveRoom, member: Member) -> None:
        visit = await self._visit(live)
        if member.state is ParticipantState.WAITING:
            await live.record(visit_events.PATIENT_WAITING, member)
        await self._changed(live, visit, member)

    async def updated(self, live: LiveRoom, member: Member) -> None:
        visit = await self._visit(live)
        if member.state is ParticipantState.IN_CALL and not _is_clinician(member) \
                and visit.timer.start(live.rooms.clock.now()):
            await live.record(visit_events.STARTED, member)
            log.info("visit started room=%s patient=%s", live.id, member.id)
        elif member.state is ParticipantState.WAITING and not member.reconnecting:
            await live.record(visit_events.PATIENT_WAITING, member)  # sent back to the waiting room
        await self._changed(live, visit, member)

    async def left(self, live: LiveRoom, member: Member, reason: str) -> None:
        visit = self._visits.get(live.id)
        if visit is None:
            return
        await self._changed(live, visit, member)
        if not live.members:  # the live room closes: keep the timer's totals, free the rest
            del self._visits[live.id]
            visit.close()
            if visit.outcome is None and visit.timer.started_at is not None:
                await self._save(live, visit)

    @property
    def handlers(self) -> Mapping[type[Message], WorkflowHandler]:
        return {VisitHold: self._on_hold, VisitResume: self._on_resume, VisitSendBack: self._on_send_back,
                VisitComplete: self._on_complete, VisitRequestInPerson: self._on_request_in_person}

    # -- the visit's state ---------------------------------------------------------------------

    async def _visit(self, live: LiveRoom) -> Visit:
        """The visit of *live*, taken up from the store when its live room opens (timer totals, outcome)."""
        visit = self._visits.get(live.id)
        if visit is None:
            loading: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            visit = self._visits[live.id] = Visit(live.room, loading)
            try:
                stored = await live.rooms.front.call(LOAD, {"room_id": live.id})
            except Exception:  # the visit goes on; only its earlier totals are missing
                log.exception("visit record not loaded room=%s", live.id)
                stored = None
            if stored is not None:
                visit.timer.counted = timedelta(seconds=int(stored["in_call_seconds"]))
                if stored["started_at"] is not None:
                    visit.timer.started_at = datetime.fromisoformat(stored["started_at"])
                if stored["outcome"] is not None:
                    visit.outcome = VisitOutcome(stored["outcome"])
            self._set_alarms(live, visit)
            if not loading.done():
                loading.set_result(None)
        elif not visit.loading.done():
            await asyncio.shield(visit.loading)
        return visit

    def _running(self, live: LiveRoom) -> bool:
        """Both sides in the visit and connected: a clinician and a patient."""
        here = [m for m in live.members.values() if m.state in IN_VISIT and not m.reconnecting]
        return any(_is_clinician(m) for m in here) and any(not _is_clinician(m) for m in here)

    def view(self, live: LiveRoom, visit: Visit) -> dict[str, Any]:
        """The ``visit`` event: what everyone in the call sees of the visit."""
        now = live.rooms.clock.now()
        return {"timer": visit.timer.view(now), "ends_at": visit.room.ends_at.isoformat(),
                "on_hold": [m.id for m in live.members.values() if m.state is ParticipantState.ON_HOLD],
                "in_person_requests": [{"participant_id": pid, "at": at} for pid, at in visit.in_person.items()],
                "outcome": None if visit.outcome is None else visit.outcome.value}

    async def _changed(self, live: LiveRoom, visit: Visit, member: Member) -> None:
        """Run or stop the timer; tell the call the visit's state, and a clinician who arrives the slot's."""
        visit.timer.run(self._running(live), live.rooms.clock.now())
        await live.broadcast("visit", self.view(live, visit))
        if _is_clinician(member) and visit.slot != "open" and not member.reconnecting:
            await live.tell(member, "visit_slot", self._slot_view(visit))

    # -- the end of the slot -------------------------------------------------------------------------

    def _slot_view(self, visit: Visit) -> dict[str, Any]:
        return {"phase": visit.slot, "ends_at": visit.room.ends_at.isoformat(),
                "warning_seconds": int(self.warning.total_seconds())}

    def _set_alarms(self, live: LiveRoom, visit: Visit) -> None:
        """Warn the clinicians `warning` before ``ends_at`` and at ``ends_at`` (at once when past)."""
        now = live.rooms.clock.now()
        loop = asyncio.get_running_loop()
        for phase, at in (("ending", visit.room.ends_at - self.warning), ("ended", visit.room.ends_at)):
            delay = (at - now).total_seconds()
            if delay <= 0:
                visit.slot = phase
            else:
                visit.alarms.append(loop.call_later(delay, self._alarm, live, visit, phase))

    def _alarm(self, live: LiveRoom, visit: Visit, phase: str) -> None:
        live.rooms.spawn(self._slot(live, visit, phase))

    async def _slot(self, live: LiveRoom, visit: Visit, phase: str) -> None:
        if self._visits.get(live.id) is not visit or visit.outcome is not None:
            return
        visit.slot = phase
        log.info("visit slot room=%s phase=%s", live.id, phase)
        for member in list(live.members.values()):
            if _is_clinician(member):
                await live.tell(member, "visit_slot", self._slot_view(visit))

    # -- the clinician's controls ------------------------------------------------------------------

    @staticmethod
    def _clinician(sender: Member | None) -> Member:
        if sender is None or not sender.permissions.moderate:
            raise Forbidden("only the clinician (a host) may do this")
        return sender

    @staticmethod
    def _patient(live: LiveRoom, participant_id: str) -> Member:
        member = live.member(participant_id)
        if member is None:
            raise NotJoined("that participant is not in the visit now")
        if _is_clinician(member):
            raise Forbidden("a clinician is not put on hold or sent back")
        return member

    async def _on_hold(self, live: LiveRoom, sender: Member | None, message: VisitHold) -> dict[str, Any]:
        self._clinician(sender)
        patient = self._patient(live, message.participant_id)
        if patient.state is ParticipantState.ON_HOLD:
            return {}
        if patient.state not in (ParticipantState.IN_CALL, ParticipantState.RECONNECTING):
            raise NotInVisit("only a patient in the call can be put on hold")
        log.info("visit hold room=%s patient=%s", live.id, patient.id)
        await live.change_state(patient, ParticipantState.ON_HOLD)
        return {}

    async def _on_resume(self, live: LiveRoom, sender: Member | None, message: VisitResume) -> dict[str, Any]:
        self._clinician(sender)
        patient = self._patient(live, message.participant_id)
        if patient.state is not ParticipantState.ON_HOLD:
            raise NotInVisit("that patient is not on hold")
        log.info("visit resume room=%s patient=%s", live.id, patient.id)
        await live.change_state(patient, ParticipantState.IN_CALL)
        return {}

    async def _on_send_back(self, live: LiveRoom, sender: Member | None, message: VisitSendBack) -> dict[str, Any]:
        self._clinician(sender)
        patient = self._patient(live, message.participant_id)
        if patient.state not in (*IN_VISIT, ParticipantState.RECONNECTING):
            raise NotInVisit("that patient is not in the call")
        log.info("visit sent back room=%s patient=%s", live.id, patient.id)
        await live.change_state(patient, ParticipantState.WAITING)
        return {}

    async def _on_complete(self, live: LiveRoom, sender: Member | None, message: VisitComplete) -> dict[str, Any]:
        clinician = self._clinician(sender)
        if message.note is not None:
            problem = note_problem(message.note)
            if problem is not None:
                raise BadRequest(f"visit_complete: 'note' {problem}")
        visit = await self._visit(live)
        if visit.outcome is not None or visit.completing:
            raise VisitCompleted("this visit has its outcome already: it is recorded once")
        outcome = VisitOutcome(message.outcome)
        now = live.rooms.clock.now()
        visit.timer.run(False, now)
        seconds = int(visit.timer.elapsed(now).total_seconds())
        visit.completing = True
        try:
            await live.rooms.front.call(COMPLETE, {
                "tenant": live.room.tenant, "room_id": live.id, "outcome": outcome.value, "note": message.note,
                "by": clinician.id, "at": now.isoformat(), "in_call_seconds": seconds,
                "started_at": None if visit.timer.started_at is None else visit.timer.started_at.isoformat()})
        except VisitCompleted:
            visit.outcome = outcome  # another front call won: refuse this one, as the store did
            raise
        finally:
            visit.completing = False
        visit.outcome = outcome
        visit.close()
        log.info("visit completed room=%s by=%s outcome=%s seconds=%s", live.id, clinician.id, outcome.value,
                 seconds)
        # consultation.completed (and no_show) were written with the outcome (VisitRecords.complete)
        await live.broadcast("visit", self.view(live, visit))
        # The visit ends for everyone as a host's end_meeting ends it, once this ack is on its way.
        live.rooms.spawn(live.deliver(clinician, EndMeeting()))
        return {}

    # -- the patient's request -----------------------------------------------------------------------

    async def _on_request_in_person(self, live: LiveRoom, sender: Member | None,
                                    message: VisitRequestInPerson) -> dict[str, Any]:
        if sender is None or _is_clinician(sender):
            raise Forbidden("only a patient asks for an in-person visit")
        visit = await self._visit(live)
        at = visit.in_person.get(sender.id)
        if at is None:
            at = visit.in_person[sender.id] = live.rooms.clock.now().isoformat()
            log.info("visit in-person requested room=%s patient=%s", live.id, sender.id)
            await live.record(visit_events.IN_PERSON_REQUESTED, sender)
            await live.broadcast("visit", self.view(live, visit))  # the clinicians hear it, in the call
        return {"requested_at": at}

    async def _save(self, live: LiveRoom, visit: Visit) -> None:
        now = live.rooms.clock.now()
        try:
            await live.rooms.front.call(SAVE, {
                "tenant": live.room.tenant, "room_id": live.id, "at": now.isoformat(),
                "in_call_seconds": int(visit.timer.elapsed(now).total_seconds()),
                "started_at": None if visit.timer.started_at is None else visit.timer.started_at.isoformat()})
        except Exception:
            log.exception("visit totals not saved room=%s", live.id)
