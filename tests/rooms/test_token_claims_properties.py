"""Join tokens signed with the right key but carrying odd claims are invalid, never a crash.

A token is only as good as its claims: a string ``exp``, a float that
overflows, a bool, a list, an id with a lone surrogate or a number of seconds
past the year 9999 used to pass ``decode`` and fail later (a 500 on the join
page and WHIP, a generic error on Socket.IO). The property test signs
arbitrary claim sets with the real secret and checks them against an oracle
written independently of ``rooms/tokens.py``.

Hypothesis drives the async tests directly (pytest-asyncio runs each example
in the test's event loop); the store fixture is built once per test function
and shared by the examples, which only read it, hence the suppressed
``function_scoped_fixture`` health check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import jwt
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rooms.errors import DomainError, TokenInvalid
from rooms.model import Room
from rooms.sqlite_store import SqliteRoomStore
from tests.rooms.test_tokens import END, START, booked, store, tokens_at  # noqa: F401 (fixtures)
from tests.strategies import json_values, nasty_text

SECRET = b"k" * 40
YEAR_9999_END = 253_402_300_799


def valid_claims(tokens_room: Room) -> dict[str, Any]:
    tokens, _ = tokens_at(START)
    token = tokens.issue(tokens_room, tokens_room.participants[1])
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def sign(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, SECRET, algorithm="HS256")


BAD_CLAIMS: list[tuple[str, Any]] = [
    ("nbf", "soon"),
    ("exp", "later"),
    ("iat", "yesterday"),
    ("nbf", "1764570000"),
    ("exp", 1e308),
    ("exp", 1.5e9),
    ("nbf", float("inf")),
    ("exp", 10**400),
    ("exp", 10**20),
    ("exp", YEAR_9999_END + 1),
    ("nbf", -1),
    ("iat", [1]),
    ("exp", {"at": 1}),
    ("nbf", True),
    ("exp", None),
    ("name", 5),
    ("name", ["Jan"]),
    ("name", ""),
    ("name", "x" * 101),
    ("role", 1),
    ("role", "king"),
    ("role", ["host"]),
    ("party", False),
    ("party", "guild"),
    ("sub", "\ud800"),
    ("room", "room-\udfff"),
    ("jti", "x" * 201),
    ("jti", ""),
]


@pytest.mark.parametrize(("claim", "value"), BAD_CLAIMS, ids=[f"{c}-{ascii(v)[:20]}" for c, v in BAD_CLAIMS])
async def test_malformed_claims_are_invalid(
    booked: Room, store: SqliteRoomStore, claim: str, value: Any  # noqa: F811
) -> None:
    tokens, _ = tokens_at(START)
    token = sign(valid_claims(booked) | {claim: value})
    with pytest.raises(TokenInvalid):
        tokens.decode(token)
    with pytest.raises(TokenInvalid):
        await tokens.verify(token, store)


def raw_token(payload: bytes, header: bytes = b'{"alg":"HS256","typ":"JWT"}') -> str:
    """A token whose payload is *payload* as is (JSON no encoder would write), signed with SECRET."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    signing_input = f"{b64(header)}.{b64(payload)}"
    signature = hmac.new(SECRET, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def raw_claims(room: Room, replace: str) -> bytes:
    """The valid claims as JSON text, with the text *replace* put in place of ``"jti": "jti-viewer"``."""
    text = json.dumps(valid_claims(room))
    assert '"jti": "jti-viewer"' in text
    return text.replace('"jti": "jti-viewer"', replace).encode()


async def test_odd_token_texts_are_invalid(booked: Room, store: SqliteRoomStore) -> None:  # noqa: F811
    tokens, _ = tokens_at(START)
    valid = raw_claims(booked, '"jti": "jti-viewer"')
    odd = [
        raw_token(b"[" * 5000 + b"]" * 5000),
        raw_token(raw_claims(booked, '"jti": "jti-viewer", "x": ' + "[" * 3000 + "]" * 3000)),
        raw_token(raw_claims(booked, '"jti": "jti-\\ud800"')),  # a JSON escape: a lone surrogate
        raw_token(raw_claims(booked, '"jti": "jti-viewer", "exp": NaN')),
        raw_token(raw_claims(booked, '"jti": "jti-viewer", "nbf": 1e400')),
        raw_token(raw_claims(booked, '"jti": "jti-viewer", "exp": 1' + "0" * 5000)),
        raw_token(valid, b"[" * 3000 + b"]" * 3000),
        raw_token(valid, b'{"alg": ["HS256"]}'),
        raw_token(valid, b'{"alg": "HS256", "crit": [["x"]]}'),
        raw_token(b"\xff\xfe"),
        sign({"x": "y" * 5000}),
        "a" * 100_000,
        "\ud800.\udc00.x",
        "\u00e4.\u00f6.\u00fc",
    ]
    assert (await tokens.verify(raw_token(valid), store)).participant.id == "p-viewer"
    for token in odd:
        with pytest.raises(TokenInvalid):
            await tokens.verify(token, store)


def well_formed(claims: dict[str, Any]) -> bool:
    """The oracle: what ``issue`` writes, checked without reusing the code under test."""

    def text(name: str, longest: int) -> bool:
        value = claims.get(name)
        return (isinstance(value, str) and 0 < len(value) <= longest
                and value.encode("utf-8", "surrogatepass").decode("utf-8", "replace") == value)

    def seconds(name: str) -> bool:
        value = claims.get(name)
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= YEAR_9999_END

    return (
        claims.get("iss") == "konsylium"
        and all(text(n, 200) for n in ("sub", "room", "jti"))
        and text("name", 100)
        and claims.get("role") in ("host", "member", "viewer")
        and claims.get("party") in ("administration", "citizen", "business")
        and all(seconds(n) for n in ("iat", "nbf", "exp"))
        and not claims.get("aud")  # PyJWT refuses an audience it was not told to expect
    )


REAL = {
    "iss": "konsylium", "sub": "p-viewer", "room": "room-1", "name": "Jan", "role": "viewer",
    "party": "citizen", "iat": int((START - timedelta(days=1)).timestamp()),
    "nbf": int((START - timedelta(minutes=15)).timestamp()), "exp": int((END + timedelta(minutes=30)).timestamp()),
    "jti": "jti-viewer",
}



@st.composite
def claim_sets(draw: st.DrawFn) -> dict[str, Any]:
    """The real claims of the booked viewer with a few replaced, dropped or added (any JSON value)."""
    claims = dict(REAL)
    for name in draw(st.sets(st.sampled_from(sorted(REAL)), max_size=3)):
        value = draw(st.one_of(st.none(), json_values, nasty_text, st.integers(), st.sampled_from(
            ["viewer", "host", "citizen", 10**19, YEAR_9999_END, YEAR_9999_END + 1, -1, True, 1.5, "1796108400"])))
        if value is None and draw(st.booleans()):
            del claims[name]
        else:
            claims[name] = value
    claims.update(draw(st.dictionaries(nasty_text | st.just("aud"), json_values, max_size=2)))
    return claims


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(claims=claim_sets())
async def test_any_claim_set_is_a_grant_or_a_domain_error(
    booked: Room, store: SqliteRoomStore, claims: dict[str, Any]  # noqa: F811
) -> None:
    tokens, _ = tokens_at(START)
    try:
        token = sign(claims)
    except (TypeError, ValueError):  # PyJWT cannot even write it (an ``iat`` of NaN, ...)
        return
    try:
        grant = await tokens.verify(token, store)
    except TokenInvalid:
        event("invalid")
        return
    except DomainError as exc:
        event(type(exc).__name__)
        assert well_formed(claims), (repr(claims), type(exc))  # expired, too early, ...: only for well-formed claims
        return
    event("granted")
    assert well_formed(claims), claims
    assert grant.participant.id == claims["sub"] and grant.room.id == claims["room"]
