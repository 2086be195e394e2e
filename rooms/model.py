"""Booking domain types: enums for the fixed sets and self-validating value objects."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from rooms.errors import FieldError, ValidationFailed
from rooms.text import text_problem

__all__ = [
    "MAX_DURATION",
    "ConferencingModel",
    "Kind",
    "Participant",
    "Party",
    "Role",
    "Room",
    "RoomStatus",
    "check_text",
]

MAX_DURATION = timedelta(hours=24)
TITLE_MAX = 200
NAME_MAX = 100
EXTERNAL_REF_MAX = 200


class Kind(StrEnum):
    """What the room is for; decides limits and the workflow around it."""

    MEETING = "meeting"
    CONSULTATION = "consultation"
    COUNCIL_SESSION = "council_session"


class ConferencingModel(StrEnum):
    """Parties on each side; the first letter is the side that asked for the meeting."""

    A2A = "A2A"
    A2C = "A2C"
    C2A = "C2A"
    A2B = "A2B"
    B2A = "B2A"


class Role(StrEnum):
    """What a participant may do in the room."""

    HOST = "host"
    MEMBER = "member"
    VIEWER = "viewer"

    @property
    def may_publish(self) -> bool:
        return self is not Role.VIEWER

    @property
    def may_moderate(self) -> bool:
        return self is Role.HOST


class Party(StrEnum):
    """Which side of the conferencing model a participant belongs to."""

    ADMINISTRATION = "administration"
    CITIZEN = "citizen"
    BUSINESS = "business"


class RoomStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    ENDED = "ended"  # a host or the integrator ended it: its links stop working, like a cancellation


def check_text(value: str, pointer: str, max_len: int) -> list[FieldError]:
    """Return the problems of a required one-line text field (character rules: rooms/text.py)."""
    if not value.strip():
        return [FieldError(pointer, "must not be empty")]
    if len(value) > max_len:
        return [FieldError(pointer, f"must be at most {max_len} characters")]
    problem = text_problem(value)
    if problem is not None:
        return [FieldError(pointer, problem)]
    return []


def _aware(value: datetime, pointer: str) -> list[FieldError]:
    if value.tzinfo is None or value.utcoffset() is None:
        return [FieldError(pointer, "must carry a UTC offset")]
    return []


@dataclass(frozen=True, slots=True)
class Participant:
    """A person invited to a room; the join token is derived from this record."""

    id: str
    room_id: str
    display_name: str
    role: Role
    party: Party
    jti: str
    created_at: datetime
    removed_at: datetime | None = None
    #: the guest invite (rooms.guest_invites) this participant came through, or None when booked: an
    #: invited guest always waits in the lobby until a host lets them in, whatever the model
    invite_id: str | None = None

    def __post_init__(self) -> None:
        errors = check_text(self.display_name, "/display_name", NAME_MAX)
        errors += _aware(self.created_at, "/created_at")
        if errors:
            raise ValidationFailed(errors)

    @property
    def active(self) -> bool:
        return self.removed_at is None

    @property
    def invited(self) -> bool:
        """Whether this participant came through a guest invite (and so always waits for a host)."""
        return self.invite_id is not None


@dataclass(frozen=True, slots=True)
class Room:
    """A booked room of one tenant, with its schedule and its participants."""

    id: str
    tenant: str
    title: str
    kind: Kind
    model: ConferencingModel
    starts_at: datetime
    ends_at: datetime
    external_ref: str | None
    created_at: datetime
    updated_at: datetime
    status: RoomStatus = RoomStatus.SCHEDULED
    cancelled_at: datetime | None = None
    version: int = 1
    #: When its details (title, names, packages' records) were erased by retention (rooms.retention).
    purged_at: datetime | None = None
    participants: tuple[Participant, ...] = field(default=())

    def __post_init__(self) -> None:
        errors = check_text(self.title, "/title", TITLE_MAX)
        if self.external_ref is not None:
            errors += check_text(self.external_ref, "/external_ref", EXTERNAL_REF_MAX)
        time_errors = _aware(self.starts_at, "/starts_at") + _aware(self.ends_at, "/ends_at")
        errors += time_errors
        if not time_errors:
            if self.ends_at <= self.starts_at:
                errors.append(FieldError("/ends_at", "must be after starts_at"))
            elif self.ends_at - self.starts_at > MAX_DURATION:
                errors.append(FieldError("/ends_at", "a booking lasts at most 24 hours"))
        if errors:
            raise ValidationFailed(errors)

    @property
    def active_participants(self) -> tuple[Participant, ...]:
        return tuple(p for p in self.participants if p.active)

    def participant(self, participant_id: str) -> Participant | None:
        """Return the participant with this id, removed or not."""
        for p in self.participants:
            if p.id == participant_id:
                return p
        return None

    def with_participants(self, participants: tuple[Participant, ...]) -> Room:
        return replace(self, participants=participants)
