"""Join tokens: per-participant JWTs (HS256) bound to the booked time window.

A token is derived from the stored participant (``iat`` is when the participant
was created, ``jti`` is stored with it), so the same participant always gets the
same token string back from the API and no token is kept at rest. Every use is
checked against the store: a cancelled room or a removed participant refuses the
token even though its signature still verifies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from rooms.clock import Clock
from rooms.errors import (
    ParticipantRemoved,
    RoomCancelled,
    TokenExpired,
    TokenInvalid,
    TokenNotYetValid,
)
from rooms.model import Participant, Role, Room, RoomStatus
from rooms.store import RoomStore

__all__ = ["ISSUER", "JoinGrant", "JoinTokens", "JoinWindow"]

ISSUER = "konsylium"
ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "room", "name", "role", "party", "iat", "nbf", "exp", "jti")


@dataclass(frozen=True, slots=True)
class JoinWindow:
    """How long before the start and after the end a join token is accepted."""

    early: timedelta = timedelta(minutes=15)
    late: timedelta = timedelta(minutes=30)

    def opens_at(self, room: Room) -> datetime:
        return room.starts_at - self.early

    def closes_at(self, room: Room) -> datetime:
        return room.ends_at + self.late


@dataclass(frozen=True, slots=True)
class JoinGrant:
    """What a verified token lets its bearer do: the room and the participant as stored."""

    room: Room
    participant: Participant

    @property
    def role(self) -> Role:
        return self.participant.role


class JoinTokens:
    """Issue and verify join tokens."""

    def __init__(self, secret: bytes, window: JoinWindow, clock: Clock) -> None:
        if not secret:
            raise ValueError("the token secret must not be empty")
        self._secret = secret
        self.window = window
        self._clock = clock

    def issue(self, room: Room, participant: Participant) -> str:
        """Return the token of *participant* (deterministic for a given room window)."""
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": participant.id,
            "room": room.id,
            "name": participant.display_name,
            "role": participant.role.value,
            "party": participant.party.value,
            "iat": int(participant.created_at.timestamp()),
            "nbf": int(self.window.opens_at(room).timestamp()),
            "exp": int(self.window.closes_at(room).timestamp()),
            "jti": participant.jti,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def decode(self, token: str) -> dict[str, Any]:
        """Check signature and shape, not time or the store; raise TokenInvalid."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": list(REQUIRED_CLAIMS), "verify_exp": False,
                         "verify_nbf": False, "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise TokenInvalid(f"the join token does not verify ({type(exc).__name__})") from exc
        if not all(isinstance(claims[k], str) for k in ("sub", "room", "jti")):
            raise TokenInvalid("the join token's claims have the wrong types")
        return claims

    async def verify(self, token: str, store: RoomStore, room_id: str | None = None) -> JoinGrant:
        """Return the grant of a token that is valid now, checked against the store.

        *room_id*, when given, is the room the bearer is trying to enter: a
        token of another room is refused as invalid.
        """
        claims = self.decode(token)
        if room_id is not None and claims["room"] != room_id:
            raise TokenInvalid("the join token belongs to another room")
        room = await store.get_room(claims["room"])
        participant = None if room is None else room.participant(claims["sub"])
        if room is None or participant is None or participant.jti != claims["jti"]:
            raise TokenInvalid("the join token names no known invitation")
        if room.status is RoomStatus.CANCELLED:
            raise RoomCancelled("the meeting was cancelled")
        if not participant.active:
            raise ParticipantRemoved("the invitation was withdrawn")
        now = self._clock.now()
        opens = max(self.window.opens_at(room).timestamp(), float(claims["nbf"]))
        closes = min(self.window.closes_at(room).timestamp(), float(claims["exp"]))
        if now.timestamp() < opens:
            opens_at = datetime.fromtimestamp(opens, UTC)
            raise TokenNotYetValid(
                f"the meeting opens at {opens_at.isoformat()}", opens_at.isoformat()
            )
        if now.timestamp() >= closes:
            raise TokenExpired("the join window has closed")
        return JoinGrant(room, participant)
