"""The storage interface of the booking domain.

Small and async so that the embedded SQLite store and a later Redis store can
both stand behind it (the way python-socketio swaps its client managers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from rooms.admissions import AdmissionRecord
from rooms.audit import AuditCheck, AuditEntry
from rooms.events import RoomEvent
from rooms.guest_invites import InviteClaim
from rooms.model import Kind, Participant, Room, RoomStatus

__all__ = [
    "IdempotencyClaim",
    "RoomPage",
    "RoomQuery",
    "RoomStore",
    "StoreStats",
    "Stored",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """An Idempotency-Key presented with a write, with a fingerprint of the request."""

    tenant: str
    scope: str
    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Stored(Generic[T]):
    """The result of an idempotent write: the resource and whether it was a replay."""

    value: T
    replayed: bool


@dataclass(frozen=True, slots=True)
class RoomQuery:
    """Filters and a keyset position for listing one tenant's rooms (ordered by start, id)."""

    tenant: str
    ends_after: datetime | None = None
    starts_before: datetime | None = None
    external_ref: str | None = None
    kind: Kind | None = None
    status: RoomStatus | None = None
    limit: int = 50
    after: tuple[datetime, str] | None = None


@dataclass(frozen=True, slots=True)
class RoomPage:
    rooms: list[Room]
    next_after: tuple[datetime, str] | None


@dataclass(frozen=True, slots=True)
class StoreStats:
    rooms_scheduled: int
    rooms_cancelled: int
    participants: int
    rooms_ended: int = 0


class RoomStore(Protocol):
    """Durable home of rooms and participants.

    Writes are atomic. A room is returned with all its participants, removed
    ones included (they keep their ``removed_at``), so that token checks can
    tell "removed" from "never existed".
    """

    async def open(self) -> None:
        """Connect and bring the schema up to date."""

    async def close(self) -> None:
        """Flush and release everything; idempotent."""

    async def ping(self) -> None:
        """Raise if the store cannot serve requests."""

    async def purge_expired(self, cutoffs: Mapping[Kind, datetime], now: datetime, limit: int) -> list[str]:
        """Erase the details of up to *limit* rooms per kind that ended before that kind's cutoff
        (rooms.retention), append a ``room.purged`` event to each; return their ids."""

    async def create_room(self, room: Room, claim: IdempotencyClaim | None,
                          events: Sequence[RoomEvent] = ()) -> Stored[Room]:
        """Insert *room* and append *events* (rooms.events) with it; with a claim seen before,
        return the first result instead (and append nothing).

        Raises IdempotencyConflict when the claim's key was used with another fingerprint.
        """

    async def get_room(self, room_id: str, tenant: str | None = None) -> Room | None:
        """Return the room, or None when absent or (with *tenant*) another tenant's."""

    async def list_rooms(self, query: RoomQuery) -> RoomPage: ...

    async def update_room(self, room: Room, events: Sequence[RoomEvent] = ()) -> Room:
        """Replace the room's own fields if its version is unchanged; bump the version; append
        *events* with the change.

        Raises Conflict when someone else changed it first, NotFound when gone.
        """

    async def add_participant(
        self, tenant: str, participant: Participant, limit: int, claim: IdempotencyClaim | None,
        events: Sequence[RoomEvent] = (), invite: InviteClaim | None = None,
    ) -> Stored[Participant]:
        """Add a participant if the room has fewer than *limit* active ones (and append *events*);
        with *invite*, spend that guest invite in the same transaction (rooms.guest_invites).

        Raises NotFound, Conflict (room cancelled or full), IdempotencyConflict, or InviteGone (the
        invite was used, revoked or expired meanwhile: then nothing is added).
        """

    async def remove_participant(
        self, tenant: str, room_id: str, participant_id: str, at: datetime,
        events: Sequence[RoomEvent] = (),
    ) -> bool:
        """Mark a participant removed and append *events*; False (nothing appended) when no such
        active participant."""

    async def record_events(self, events: Sequence[RoomEvent]) -> None:
        """Append events that announce no stored change of their own (a live room's)."""

    async def audit_trail(self, room_id: str) -> tuple[list[AuditEntry], AuditCheck]:
        """A room's audit entries in order and the verdict on its chain (rooms.audit)."""

    async def audited_rooms(self) -> list[str]:
        """The ids of every room with an audit chain."""

    async def latest_admissions(self, room_ids: Sequence[str]) -> dict[str, AdmissionRecord]:
        """The latest admission decision of every participant of these rooms that has one, by participant id."""

    async def stats(self) -> StoreStats: ...
