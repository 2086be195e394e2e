"""Admission records: a host's (or the integrator's) decision on someone waiting in the lobby.

In A2C, C2A, A2B and B2A a link's holder is identified by the link, *confirmed by the
host at admission* (docs/policy.md). That confirmation is an act with an author and a
time, so it is kept: each admit or deny of a waiting participant is a room event
(``lobby.admitted``, ``lobby.denied``; rooms.events) on the room's tamper-evident audit
chain, and the store also keeps it as one `AdmissionRecord` (``admissions`` table,
written with the event: `record_of`), from which the API shows each participant's
latest one.

The record holds ids and a time only, never names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from rooms.events import API, RoomEvent

__all__ = ["API", "AdmissionOutcome", "AdmissionRecord", "record_of"]


class AdmissionOutcome(StrEnum):
    ADMITTED = "admitted"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class AdmissionRecord:
    """One decision: *participant_id* of *room_id* was admitted or denied *by* (a host's participant
    id, or `API`) *at* (aware, UTC)."""

    room_id: str
    participant_id: str
    outcome: AdmissionOutcome
    by: str
    at: datetime

    def __post_init__(self) -> None:
        if self.at.utcoffset() is None:
            raise ValueError("an admission record's time must carry a UTC offset")


OUTCOMES = {"lobby.admitted": AdmissionOutcome.ADMITTED, "lobby.denied": AdmissionOutcome.DENIED}


def record_of(event: RoomEvent) -> AdmissionRecord | None:
    """The admission record an event makes (a host's or the API's admit or deny), or None."""
    outcome = OUTCOMES.get(event.type)
    if outcome is None or event.participant_id is None:
        return None
    return AdmissionRecord(event.room_id, event.participant_id, outcome, event.by or API, event.at)
