"""Join tokens: claims, the window's edges, revocation and forgery (CONTRACT.md §3)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from rooms.clock import ManualClock
from rooms.errors import (
    ParticipantRemoved,
    RoomCancelled,
    TokenExpired,
    TokenInvalid,
    TokenNotYetValid,
)
from rooms.model import ConferencingModel, Kind, Participant, Party, Role, Room, RoomStatus
from rooms.sqlite_store import SqliteRoomStore
from rooms.tokens import JoinTokens, JoinWindow

SECRET = b"k" * 40
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
END = START + timedelta(minutes=30)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteRoomStore]:
    s = SqliteRoomStore(tmp_path / "rooms.sqlite3")
    await s.open()
    yield s
    await s.close()


def make_room(room_id: str = "room-1") -> Room:
    people = (
        Participant("p-host", room_id, "dr Anna Nowak", Role.HOST, Party.ADMINISTRATION,
                    "jti-host", START - timedelta(days=1)),
        Participant("p-viewer", room_id, "Jan", Role.VIEWER, Party.CITIZEN,
                    "jti-viewer", START - timedelta(days=1)),
    )
    return Room(room_id, "portal", "Sesja", Kind.MEETING, ConferencingModel.A2C, START, END,
                None, START - timedelta(days=1), START - timedelta(days=1), participants=people)


@pytest.fixture
async def booked(store: SqliteRoomStore) -> Room:
    room = make_room()
    await store.create_room(room, None)
    return room


def tokens_at(when: datetime) -> tuple[JoinTokens, ManualClock]:
    clock = ManualClock(when)
    return JoinTokens(SECRET, JoinWindow(), clock), clock


async def test_claims(booked: Room, store: SqliteRoomStore) -> None:
    tokens, _ = tokens_at(START)
    token = tokens.issue(booked, booked.participants[0])
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False,
                                                                      "verify_nbf": False})
    assert claims["sub"] == "p-host" and claims["room"] == "room-1"
    assert (claims["name"], claims["role"], claims["party"]) == (
        "dr Anna Nowak", "host", "administration")
    assert claims["jti"] == "jti-host"
    assert claims["nbf"] == int((START - timedelta(minutes=15)).timestamp())
    assert claims["exp"] == int((END + timedelta(minutes=30)).timestamp())
    assert tokens.issue(booked, booked.participants[0]) == token  # deterministic
    grant = await tokens.verify(token, store, "room-1")
    assert grant.participant.id == "p-host" and grant.role is Role.HOST


@pytest.mark.parametrize(
    ("offset", "error"),
    [
        (-timedelta(minutes=15, seconds=1), TokenNotYetValid),
        (-timedelta(minutes=15), None),
        (timedelta(minutes=30 + 30) - timedelta(seconds=1), None),
        (timedelta(minutes=30 + 30), TokenExpired),
    ],
)
async def test_window_edges(
    booked: Room, store: SqliteRoomStore, offset: timedelta, error: type[Exception] | None
) -> None:
    tokens, _ = tokens_at(START + offset)
    token = tokens.issue(booked, booked.participants[1])
    if error is None:
        assert (await tokens.verify(token, store)).participant.id == "p-viewer"
    else:
        with pytest.raises(error):
            await tokens.verify(token, store)


async def test_window_is_configurable(booked: Room, store: SqliteRoomStore) -> None:
    clock = ManualClock(START - timedelta(minutes=50))
    tokens = JoinTokens(SECRET, JoinWindow(early=timedelta(hours=1)), clock)
    assert (await tokens.verify(tokens.issue(booked, booked.participants[0]), store))


async def test_too_early_says_when_it_opens(booked: Room, store: SqliteRoomStore) -> None:
    tokens, _ = tokens_at(START - timedelta(hours=2))
    with pytest.raises(TokenNotYetValid) as caught:
        await tokens.verify(tokens.issue(booked, booked.participants[0]), store)
    assert caught.value.opens_at_iso == "2026-12-01T07:45:00+00:00"


async def test_cancelled_room_refuses(booked: Room, store: SqliteRoomStore) -> None:
    tokens, _ = tokens_at(START)
    token = tokens.issue(booked, booked.participants[0])
    await store.update_room(replace(booked, status=RoomStatus.CANCELLED, cancelled_at=START))
    with pytest.raises(RoomCancelled):
        await tokens.verify(token, store)


async def test_removed_participant_refuses(booked: Room, store: SqliteRoomStore) -> None:
    tokens, _ = tokens_at(START)
    token = tokens.issue(booked, booked.participants[1])
    assert await store.remove_participant("portal", "room-1", "p-viewer", START)
    with pytest.raises(ParticipantRemoved):
        await tokens.verify(token, store)
    other = tokens.issue(booked, booked.participants[0])
    assert (await tokens.verify(other, store)).participant.id == "p-host"


async def test_rescheduled_room_uses_the_stored_window(booked: Room, store: SqliteRoomStore) -> None:
    tokens, clock = tokens_at(START)
    token = tokens.issue(booked, booked.participants[0])
    later = replace(booked, starts_at=START + timedelta(days=1), ends_at=END + timedelta(days=1))
    await store.update_room(later)
    with pytest.raises(TokenNotYetValid):
        await tokens.verify(token, store)  # the old token no longer fits the booking
    clock.set(START + timedelta(days=1))
    fresh = tokens.issue(later, later.participants[0])
    assert (await tokens.verify(fresh, store)).room.starts_at == START + timedelta(days=1)


def forge(claims: dict[str, object], key: bytes = SECRET, alg: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=alg)


@pytest.mark.parametrize(
    "make",
    [
        lambda t, r: "not-a-jwt",
        lambda t, r: "",
        lambda t, r: forge(jwt.decode(t, options={"verify_signature": False}), b"x" * 40),
        lambda t, r: forge(jwt.decode(t, options={"verify_signature": False}) | {"role": "host",
                           "sub": "p-host"}, b"wrong-secret-but-long-enough-to-look-ok"),
        lambda t, r: jwt.encode(jwt.decode(t, options={"verify_signature": False}), None,
                                algorithm="none"),
        lambda t, r: forge(jwt.decode(t, options={"verify_signature": False}) | {"jti": "other"}),
        lambda t, r: forge({k: v for k, v in jwt.decode(
            t, options={"verify_signature": False}).items() if k != "jti"}),
        lambda t, r: forge(jwt.decode(t, options={"verify_signature": False}) | {"sub": "nobody"}),
        lambda t, r: forge(jwt.decode(t, options={"verify_signature": False}) | {"iss": "evil"}),
        lambda t, r: forge(jwt.decode(t, options={"verify_signature": False}) | {"sub": 7}),
    ],
)
async def test_malformed_and_forged_tokens_are_invalid(
    booked: Room, store: SqliteRoomStore, make: object
) -> None:
    tokens, _ = tokens_at(START)
    good = tokens.issue(booked, booked.participants[1])
    bad = make(good, booked)  # type: ignore[operator]
    with pytest.raises(TokenInvalid):
        await tokens.verify(bad, store)


async def test_token_of_another_room_is_refused(store: SqliteRoomStore, booked: Room) -> None:
    other = make_room("room-2")
    other = other.with_participants(tuple(replace(p, id=p.id + "-2", room_id="room-2")
                                          for p in other.participants))
    await store.create_room(other, None)
    tokens, _ = tokens_at(START)
    token = tokens.issue(other, other.participants[0])
    assert (await tokens.verify(token, store, "room-2")).room.id == "room-2"
    with pytest.raises(TokenInvalid):
        await tokens.verify(token, store, "room-1")


async def test_role_comes_from_the_store(booked: Room, store: SqliteRoomStore) -> None:
    """A token carries no right its participant's stored role does not give."""
    tokens, _ = tokens_at(START)
    viewer = booked.participants[1]
    claims = jwt.decode(tokens.issue(booked, viewer), options={"verify_signature": False})
    lifted = forge(claims | {"role": "host"})  # signed with the real secret, role edited
    grant = await tokens.verify(lifted, store)
    assert grant.role is Role.VIEWER and not grant.role.may_publish
