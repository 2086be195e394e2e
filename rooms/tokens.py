"""Join tokens: per-participant JWTs (HS256) bound to the booked time window.

A token is derived from the stored participant (``iat`` is when the participant
was created, ``jti`` is stored with it), so the same participant always gets the
same token string back from the API and no token is kept at rest. Every use is
checked against the store: a cancelled room or a removed participant refuses the
token even though its signature still verifies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from rooms.clock import Clock
from rooms.errors import (
    ParticipantRemoved,
    RoomCancelled,
    RoomEnded,
    TokenExpired,
    TokenInvalid,
    TokenNotYetValid,
)
from rooms.model import NAME_MAX, Participant, Party, Role, Room, RoomStatus
from rooms.store import RoomStore
from rooms.text import has_surrogate

__all__ = ["ISSUER", "JoinGrant", "JoinTokens", "JoinWindow"]

ISSUER = "konsylium"
ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "room", "name", "role", "party", "iat", "nbf", "exp", "jti")
MAX_TOKEN_LENGTH = 4096
MAX_ID_LENGTH = 200
# NumericDate claims: whole seconds from 1970 to the end of 9999, as ``issue`` writes them.
MAX_TIMESTAMP = 253_402_300_799


def _text(max_len: int) -> Callable[[Any], bool]:
    """A claim check: a non-empty string of at most *max_len* characters that UTF-8 can carry."""

    def check(value: Any) -> bool:
        if not isinstance(value, str) or not 0 < len(value) <= max_len:
            return False
        return not has_surrogate(value)

    return check


def _timestamp(value: Any) -> bool:
    """A claim check: whole seconds (an int, not a bool, not a float) within MAX_TIMESTAMP."""
    return type(value) is int and 0 <= value <= MAX_TIMESTAMP


CLAIM_CHECKS: dict[str, Callable[[Any], bool]] = {
    "sub": _text(MAX_ID_LENGTH),
    "room": _text(MAX_ID_LENGTH),
    "jti": _text(MAX_ID_LENGTH),
    "name": _text(NAME_MAX),
    "role": lambda value: isinstance(value, str) and value in set(Role),
    "party": lambda value: isinstance(value, str) and value in set(Party),
    "iat": _timestamp,
    "nbf": _timestamp,
    "exp": _timestamp,
}


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
        """Check signature and shape, not time or the store; raise TokenInvalid.

        Every claim is checked for its exact type and range here, so that a token
        signed with the right key but carrying odd claims (a string ``exp``, a float
        that overflows, a list, a bool, an id with a lone surrogate) is refused as
        invalid rather than failing later on.
        """
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            raise TokenInvalid("the join token does not verify (not a token of a sane length)")
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
        except (ValueError, TypeError, RecursionError) as exc:  # odd text the library does not map
            raise TokenInvalid("the join token does not verify") from exc
        bad = [name for name, check in CLAIM_CHECKS.items() if not check(claims[name])]
        if bad:
            raise TokenInvalid(f"the join token's claims have the wrong types: {', '.join(bad)}")
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
        if room.status is RoomStatus.ENDED:
            raise RoomEnded("the meeting has ended")
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
