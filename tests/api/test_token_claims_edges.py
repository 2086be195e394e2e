"""Join tokens with malformed claims are refused as invalid on every edge (issue 8, section 3).

Signed with the node's real secret, so only the claims are wrong: the join
page answers 401 in plain words, WHIP a 401 problem, Socket.IO refuses the
connection with ``invalid_token``. Before, a string ``nbf`` or ``exp`` was a
500 on the first two and a generic error on the socket.

The property test runs hypothesis inside one async test: pytest-asyncio runs
each example in the test's event loop against the node the ``client`` fixture
built once for the test function (hence the suppressed
``function_scoped_fixture`` health check); the examples only read.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rooms.clock import ManualClock
from tests.conftest import NOW, SECRET, book, claims_of
from tests.signalling.clients import connect_error
from tests.strategies import json_values, nasty_text

Client = TestClient[Any, Any]
PROBLEM = "application/problem+json"
SDP_OFFER = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"

BAD_CLAIMS: list[tuple[str, Any]] = [
    ("nbf", "soon"), ("exp", "later"), ("iat", "x"), ("exp", 1e308), ("nbf", 10**400), ("exp", 10**20),
    ("iat", [1]), ("nbf", True), ("exp", None), ("name", 5), ("role", ["host"]), ("party", {"a": 1}),
    ("sub", "\ud800"), ("room", 7), ("jti", ""),
]
IDS = [f"{c}-{ascii(v)[:16]}" for c, v in BAD_CLAIMS]


def forged(token: str, **changes: Any) -> str:
    return jwt.encode(claims_of(token) | changes, SECRET, algorithm="HS256")


async def join_status(client: Client, room_id: str, token: str) -> int:
    resp = await client.get(f"/join/{room_id}", params={"t": token})
    assert resp.content_type == "text/html", await resp.text()
    return resp.status


async def whip_problem(client: Client, room_id: str, token: str) -> dict[str, Any]:
    resp = await client.post(f"/whip/{room_id}", data=SDP_OFFER,
                             headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"})
    assert 400 <= resp.status < 500, await resp.text()
    assert resp.content_type == PROBLEM
    body: dict[str, Any] = await resp.json()
    assert body["status"] == resp.status
    return body


async def socket_refusal(client: Client, token: Any) -> dict[str, Any]:
    """Connect with *token* and return the refusal's data (fails if the connection is accepted)."""
    return await connect_error(str(client.make_url("/")), {"token": token})


@pytest.mark.parametrize(("claim", "value"), BAD_CLAIMS, ids=IDS)
async def test_join_page_says_invalid(client: Client, clock: ManualClock, claim: str, value: Any) -> None:
    room = await book(client)
    clock.set(NOW + timedelta(hours=1))
    token = room["participants"][0]["token"]
    assert await join_status(client, room["id"], token) == 200
    assert await join_status(client, room["id"], forged(token, **{claim: value})) == 401


@pytest.mark.parametrize(("claim", "value"), BAD_CLAIMS, ids=IDS)
async def test_whip_answers_401_problem(client: Client, clock: ManualClock, claim: str, value: Any) -> None:
    room = await book(client)
    clock.set(NOW + timedelta(hours=1))
    token = forged(room["participants"][0]["token"], **{claim: value})
    body = await whip_problem(client, room["id"], token)
    assert (body["status"], body["type"]) == (401, "urn:konsylium:problem:invalid-token")


async def test_socket_refuses_with_invalid_token(client: Client, clock: ManualClock) -> None:
    room = await book(client)
    clock.set(NOW + timedelta(hours=1))
    token = room["participants"][0]["token"]
    for claim, value in BAD_CLAIMS:
        refused = await socket_refusal(client, forged(token, **{claim: value}))
        assert refused["data"]["code"] == "invalid_token", (claim, value, refused)


REFUSED_PAGE = {401, 410}
REFUSED_SOCKET = {"invalid_token", "token_expired", "too_early", "room_cancelled", "participant_removed",
                  "room_ended"}


@st.composite
def changed_claims(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    claims = dict(base)
    for name in draw(st.sets(st.sampled_from(sorted(base)), min_size=1, max_size=3)):
        claims[name] = draw(st.one_of(json_values, nasty_text, st.integers()))
    claims.update(draw(st.dictionaries(nasty_text, json_values, max_size=2)))
    return claims


@pytest.fixture
async def open_room(client: Client, clock: ManualClock) -> dict[str, Any]:
    """A room booked once for the test function and open now."""
    room: dict[str, Any] = await book(client)
    clock.set(NOW + timedelta(hours=1))
    return room


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_any_claims_on_every_edge_are_refused_cleanly(
    client: Client, open_room: dict[str, Any], data: st.DataObject
) -> None:
    room = open_room
    base = claims_of(room["participants"][0]["token"])
    claims = data.draw(changed_claims(base))
    try:
        token = jwt.encode(claims, SECRET, algorithm="HS256")
    except (TypeError, ValueError):
        return
    page = await join_status(client, room["id"], token)
    assert page in REFUSED_PAGE | {200}
    whip = await whip_problem(client, room["id"], token)
    if page == 401:  # invalid on the page: invalid on WHIP too, not refused by something else
        assert (whip["status"], whip["type"]) == (401, "urn:konsylium:problem:invalid-token")
    if data.draw(st.integers(0, 5)) == 0:  # a socket connect is slower: one example in six
        if page == 200:
            return
        refused = await socket_refusal(client, token)
        assert refused["data"]["code"] in REFUSED_SOCKET
