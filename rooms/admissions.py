"""Admission records: a host's (or the integrator's) decision on someone waiting in the lobby.

In A2C, C2A, A2B and B2A a link's holder is identified by the link, *confirmed by the
host at admission* (docs/policy.md). That confirmation is an act with an author and a
time, so it is kept: each admit or deny of a waiting participant becomes one
`AdmissionRecord` in the room store (``admissions`` table), and the API shows each
participant's latest one. Live rooms report records to an `AdmissionSink` (the store,
or, in a media worker, the link to the front, which hands them to the store).

The record holds ids and a time only, never names. Issue 10 moves these records into a
tamper-evident audit chain: the record is flat, immutable and self-contained (no
reference to live state), with a stable JSON form (`as_json`), so it can be chained
as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

__all__ = ["API", "AdmissionOutcome", "AdmissionRecord", "AdmissionSink", "NoAdmissionRecords"]

#: ``by`` of a decision the integrator made through the REST API (hosts are named by participant id).
API = "api"


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

    def as_json(self) -> dict[str, Any]:
        """Every field as JSON (``at`` RFC 3339): the form the worker link and, later, the audit chain carry."""
        return {"room_id": self.room_id, "participant_id": self.participant_id,
                "outcome": self.outcome.value, "by": self.by, "at": self.at.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AdmissionRecord:
        return cls(data["room_id"], data["participant_id"], AdmissionOutcome(data["outcome"]), data["by"],
                   datetime.fromisoformat(data["at"]))


class AdmissionSink(Protocol):
    """Where live rooms report admission decisions (the room store keeps them)."""

    async def record_admission(self, record: AdmissionRecord) -> None: ...


class NoAdmissionRecords:
    """A sink that keeps nothing: for live rooms without a store (unit tests of the media alone)."""

    async def record_admission(self, record: AdmissionRecord) -> None:
        return None
