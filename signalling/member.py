"""A participant present in a live room: their explicit state, their permissions, their media.

`Member.state` is one of `ParticipantState` (never a set of loose flags), and what
a member may do is one `Permissions` value derived from their role, their state and
what hosts decided (`Member.permissions`): every check in the live room reads that
value. A host's live role change (`Member.role_override`) lasts for the call; the
booked role in the store is unchanged. The subscribe connection and its offer/answer rounds are one
`SubscribeNegotiation` per member.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from rooms.model import Participant, Role
from sfu import Publisher, Subscriber, TrackSource

__all__ = ["Member", "ParticipantState", "Permissions", "SubscribeNegotiation"]


class ParticipantState(StrEnum):
    """Where a participant is in the room's life (the ``state`` clients and the API see)."""

    WAITING = "waiting"  # in the lobby, until a host lets them in
    IN_CALL = "in_call"
    ON_HOLD = "on_hold"  # kept by a host outside the call's media, both ways (a consultation's pause)
    RECONNECTING = "reconnecting"  # their socket dropped; their place is kept for a grace period
    LEFT = "left"


@dataclass(frozen=True, slots=True)
class Permissions:
    """What a member may do now; derived, never stored (see `Permissions.of`)."""

    publish: bool
    subscribe: bool
    moderate: bool  # admit, mute others, remove, end: a host's controls
    talk: bool  # chat and raise a hand: anyone in the call, viewers too; never someone waiting

    @classmethod
    def of(cls, role: Role, state: ParticipantState) -> Permissions:
        """The permissions of *role* in *state*: media only in the call (or while reconnecting to it, or on
        hold: a held member keeps their connections, and the live room forwards nothing either way)."""
        in_call = state in (ParticipantState.IN_CALL, ParticipantState.RECONNECTING)
        media = in_call or state is ParticipantState.ON_HOLD
        return cls(publish=media and role.may_publish, subscribe=media,
                   moderate=role is Role.HOST and state is not ParticipantState.LEFT, talk=in_call)


@dataclass(eq=False, slots=True)
class SubscribeNegotiation:
    """A member's subscribe connection and its server-offer/client-answer rounds, one at a time.

    A change while an offer waits for its answer is folded into one more round
    (`want`), run when the answer comes (`answered`); a failed answer still ends
    its round, so later changes are never folded away for good.
    """

    subscriber: Subscriber | None = None
    in_flight: bool = False
    again: bool = False

    def want(self) -> bool:
        """Ask for a round: True to start one now, False when folded into the next."""
        if self.in_flight:
            self.again = True
            return False
        return True

    def started(self) -> None:
        self.in_flight, self.again = True, False

    def answered(self) -> bool:
        """End the round (its answer applied or refused); True when another round is due."""
        self.in_flight = False
        return self.again

    def reset(self) -> Subscriber | None:
        """Forget the connection and any round (a new socket, a lost connection); return the old one."""
        subscriber, self.subscriber = self.subscriber, None
        self.in_flight = self.again = False
        return subscriber

    @property
    def open(self) -> Subscriber | None:
        """The subscribe connection, if it is still open."""
        return None if self.subscriber is None or self.subscriber.closed else self.subscriber


@dataclass(eq=False)
class Member:
    """A participant present in a live room, with their state, socket and media."""

    participant: Participant
    room_id: str
    sid: str | None = None
    state: ParticipantState = ParticipantState.IN_CALL
    publisher: Publisher | None = None
    negotiation: SubscribeNegotiation = field(default_factory=SubscribeNegotiation)
    muted: dict[str, bool] = field(default_factory=lambda: {"audio": False, "video": False})
    publishing_offer: bool = False  # a publish offer of this member is being answered now
    grace: asyncio.TimerHandle | None = None
    since: datetime = field(default_factory=lambda: datetime.now(UTC))  # arrival (the lobby's order)
    #: a host's live role change (member <-> viewer), for this call only: the booking keeps its role
    role_override: Role | None = None
    #: the kinds a host muted: the SFU forwards none of them until the member unmutes themselves
    host_muted: set[str] = field(default_factory=set)
    #: when their hand went up (the live room's `signalling.hands.HandQueue` keeps the order), or None
    hand_raised_at: datetime | None = None

    @property
    def id(self) -> str:
        return self.participant.id

    @property
    def role(self) -> Role:
        """The role in this call: a host's live change (`role_override`), else the booked one."""
        return self.role_override or self.participant.role

    @property
    def permissions(self) -> Permissions:
        return Permissions.of(self.role, self.state)

    @property
    def reconnecting(self) -> bool:
        """Whether their socket dropped and their place is kept for its grace period (in any state)."""
        return self.state is ParticipantState.RECONNECTING or self.grace is not None

    @property
    def subscriber(self) -> Subscriber | None:
        return self.negotiation.subscriber

    @property
    def publishing(self) -> list[str]:
        if self.publisher is None or self.publisher.closed:
            return []
        return sorted({t.kind.value for t in self.publisher.tracks if not t.ended})

    @property
    def sharing(self) -> bool:
        """Whether the member sends a shared screen now (a video track marked `TrackSource.SCREEN`)."""
        if self.publisher is None or self.publisher.closed:
            return False
        return any(t.source is TrackSource.SCREEN and not t.ended for t in self.publisher.tracks)

    def view(self) -> dict[str, Any]:
        """The participant as clients see it (docs/protocol.md)."""
        return {
            "id": self.participant.id,
            "name": self.participant.display_name,
            "role": self.role.value,
            "party": self.participant.party.value,
            "state": self.state.value,
            "connection": "reconnecting" if self.reconnecting else "connected",
            "publishing": self.publishing,
            "sharing": self.sharing,
            "muted": dict(self.muted),
            "hand_raised_at": None if self.hand_raised_at is None else self.hand_raised_at.isoformat(),
        }
