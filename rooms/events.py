"""Room events: what happened to a room, as ids and states, kept once and told twice.

Every change an integrator or an auditor cares about (a booking made, edited or
cancelled; a participant added or removed; someone joining, waiting, let in,
turned away, muted by a host, leaving; a meeting starting and ending) becomes one
`RoomEvent`. The store appends it **in the same transaction as the change it
announces** (so a crash loses neither or both) to the room's audit chain, from
which webhook deliveries are queued: the chain is also the outbox.

An event carries ids (tenant, room, participant, who did it) and states only:
never a name, a title or anything about health, so it may be logged, hashed and
sent to any endpoint the tenant registered. Workflow packages (telemedicine,
council sessions) add their own types with `register_event_type`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Protocol

__all__ = [
    "API",
    "EVENT_TYPES",
    "SYSTEM",
    "EventSink",
    "NoEvents",
    "RoomEvent",
    "Scalar",
    "canonical_json",
    "register_event_type",
]

#: ``by`` of what the integrator did through the REST API (hosts are named by participant id).
API = "api"
#: ``by`` of what the server did by itself (a join window closing, a reconnect timing out).
SYSTEM = "system"

Scalar = str | int | bool | None

#: Every event type and what it says (docs/api.md, "Webhooks", lists them from here).
EVENT_TYPES: dict[str, str] = {
    "booking.created": "a room was booked (data: kind, model, starts_at, ends_at, participants)",
    "booking.updated": "a room's booking changed (data: fields, the names of the changed fields)",
    "booking.cancelled": "a room was cancelled",
    "participant.added": "a participant was invited to a booked room (data: role, party; invite_id for a guest who "
                         "came through a one-time invite, by whoever made it)",
    "participant.removed": "an invitation was withdrawn; the person's live sessions end",
    "room.started": "the first person arrived in the live room",
    "room.ended": "a host or the integrator ended the meeting for everyone",
    "participant.joined": "someone entered the call (on arrival, or when let in from the lobby) (data: role)",
    "participant.left": "someone left for good, from the call or the lobby (data: reason, from)",
    "lobby.waiting": "someone arrived and waits in the lobby (data: party)",
    "lobby.admitted": "a host (by) or the integrator let someone in from the lobby",
    "lobby.denied": "a host (by) or the integrator turned someone away from the lobby",
    "participant.muted_by_host": "a host (by) or the integrator muted someone (data: kind)",
    "invite.created": "a host (by) or the integrator made a one-time guest invite (data: invite_id, purpose, "
                      "expires_at); a guest who uses it is `participant.added` with its invite_id",
    "invite.revoked": "a host (by) or the integrator revoked an unused guest invite (data: invite_id)",
    "recording.consent": "someone in the room agreed or refused to be recorded (data: granted)",
    "recording.started": "a host (by) or the integrator started recording, everyone present having agreed",
    "recording.paused": "recording paused: someone present has not agreed (data: missing, how many)",
    "recording.resumed": "recording went on: everyone present agrees again",
    "recording.stopped": "a host (by) or the integrator stopped recording, or the room emptied (data: reason)",
    "room.purged": "retention erased the room's title, names and details; ids and this trail stay (data: kind)",
}


def register_event_type(name: str, meaning: str) -> None:
    """Declare an event type of a workflow package (``vote.closed``…); twice is a bug."""
    if name in EVENT_TYPES:
        raise ValueError(f"event type {name!r} is declared twice")
    EVENT_TYPES[name] = meaning


def canonical_json(value: Any) -> str:
    """One spelling of a JSON value (sorted keys, no spaces), for hashing and fingerprints."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class RoomEvent:
    """One thing that happened to room *room_id* of *tenant* at *at* (aware), about
    *participant_id* (or the room), done *by* a host's participant id, `API` or `SYSTEM`
    (None when nobody in particular: a person joining by themselves). *data* holds states."""

    type: str
    tenant: str
    room_id: str
    at: datetime
    participant_id: str | None = None
    by: str | None = None
    data: Mapping[str, Scalar | Sequence[Scalar]] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r}")
        if self.at.utcoffset() is None:
            raise ValueError("an event's time must carry a UTC offset")
        object.__setattr__(self, "data", MappingProxyType(dict(self.data)))

    def as_json(self) -> dict[str, Any]:
        """The event as JSON (``at`` RFC 3339): for the worker link, the audit chain and webhooks."""
        return {"type": self.type, "tenant": self.tenant, "room_id": self.room_id, "at": self.at.isoformat(),
                "participant_id": self.participant_id, "by": self.by,
                "data": {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in self.data.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RoomEvent:
        return cls(type=data["type"], tenant=data["tenant"], room_id=data["room_id"],
                   at=datetime.fromisoformat(data["at"]), participant_id=data.get("participant_id"),
                   by=data.get("by"), data=data.get("data") or {})


class EventSink(Protocol):
    """Where live rooms report their events (the room store appends them to the room's chain)."""

    async def record_events(self, events: Sequence[RoomEvent]) -> None: ...


class NoEvents:
    """A sink that keeps nothing: for live rooms without a store (unit tests of the media alone)."""

    async def record_events(self, events: Sequence[RoomEvent]) -> None:
        return None
