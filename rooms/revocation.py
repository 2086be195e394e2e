"""Revocations: a booking change that takes a right away from people who may be in a call.

Removing a participant, cancelling a room and ending a meeting are decided here, in
the booking domain, but their effect is live: every session the right covered (a
Socket.IO member, a WHIP publisher, a WHEP viewer) must end within a second, with
the client told why. The booking service announces each revocation to a
`RevocationSink` once the store has it; the node wires the sink to its live
sessions (``signalling.revocation``). The domain stays ignorant of sockets.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

__all__ = ["NoRevocations", "Revocation", "RevocationReason", "RevocationSink"]


class RevocationReason(StrEnum):
    """Why live sessions end; the value is the code clients are given."""

    PARTICIPANT_REMOVED = "participant_removed"
    ROOM_CANCELLED = "room_cancelled"
    ROOM_ENDED = "room_ended"
    TOKEN_EXPIRED = "token_expired"

    @property
    def message(self) -> str:
        """Plain words for the client (no names: it may be logged by a client library)."""
        return {
            RevocationReason.PARTICIPANT_REMOVED: "your invitation to this meeting was withdrawn",
            RevocationReason.ROOM_CANCELLED: "the meeting was cancelled",
            RevocationReason.ROOM_ENDED: "the meeting has ended",
            RevocationReason.TOKEN_EXPIRED: "the join window of this meeting has closed",
        }[self]


@dataclass(frozen=True, slots=True)
class Revocation:
    """What to end: one participant's sessions, or (participant_id None) the whole room's."""

    room_id: str
    reason: RevocationReason
    participant_id: str | None = None

    @property
    def whole_room(self) -> bool:
        return self.participant_id is None


class RevocationSink(Protocol):
    """Where the booking service announces revocations."""

    async def revoke(self, revocation: Revocation) -> None:
        """End the live sessions *revocation* covers; must not raise for rooms not live."""


class NoRevocations:
    """A sink for a booking service with no live sessions (tools, tests of the domain)."""

    async def revoke(self, revocation: Revocation) -> None:
        return None
