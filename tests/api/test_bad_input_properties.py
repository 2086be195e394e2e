"""Property tests of the booking API: any body, query, header or id is a 2xx or a 4xx problem.

Each test draws hostile input (any JSON value, known fields replaced by any
type, lone surrogates, control and invisible characters, nesting thousands
deep, raw bytes, odd query strings, header values and path ids) and checks
that the answer is a success only when the input is valid, a problem+json
4xx otherwise, and that a refused request changed nothing: the tenant's room
list, or the room as GET returns it, is what it was before.

How hypothesis runs here: the tests are async and decorated with ``@given``;
pytest-asyncio runs every example in the test's event loop, against the node
the ``client`` fixture built once for the test function. Examples share that
node on purpose (it is the "server unchanged" being checked), hence the
suppressed ``function_scoped_fixture`` health check. ``deadline=None``
because a request's time depends on the machine, not on the example.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, quote_from_bytes

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import auth, book, booking
from tests.strategies import deep_json, json_text, json_values, nasty_text, with_overrides

Client = TestClient[Any, Any]
PROBLEM = "application/problem+json"
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PERSON = {"display_name": "Ewa Nowak", "role": "member", "party": "citizen"}
CONTENT_TYPES = ["application/json", "application/json", "application/merge-patch+json",
                 "application/json; charset=utf-8", "text/plain"]


async def refused(resp: Any) -> bool:
    """True for a 4xx problem; fails the test on a 5xx or a 4xx of another format."""
    assert resp.status < 500, await resp.text()
    if resp.status < 400:
        return False
    assert resp.content_type == PROBLEM, (resp.status, resp.content_type)
    body = await resp.json()
    assert body["status"] == resp.status and body["title"] and body["detail"]
    return True


async def rooms_of(client: Client) -> list[dict[str, Any]]:
    resp = await client.get("/api/v1/rooms", params={"limit": "200"}, headers=auth())
    assert resp.status == 200
    items: list[dict[str, Any]] = (await resp.json())["items"]
    return items


async def room_now(client: Client, room_id: str) -> dict[str, Any]:
    resp = await client.get(f"/api/v1/rooms/{room_id}", headers=auth())
    assert resp.status == 200
    room: dict[str, Any] = await resp.json()
    return room


def raw_bodies(base: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """Request bodies: *base* with fields changed, any JSON value, deep nesting, or raw bytes."""
    as_json = st.one_of(with_overrides(base), json_values).map(lambda value: json_text(value).encode())
    nested = st.tuples(st.just(base), deep_json()).map(
        lambda pair: (json.dumps(pair[0])[:-1] + (", " if pair[0] else "") + f'"x": {pair[1]}}}').encode())
    return st.one_of(as_json, as_json, as_json, nested, deep_json().map(str.encode), st.binary(max_size=64))


def request_headers(draw: st.DrawFn) -> dict[str, str]:
    headers = auth() | {"Content-Type": draw(st.sampled_from(CONTENT_TYPES))}
    if draw(st.booleans()):
        headers["Idempotency-Key"] = draw(st.sampled_from(["k-1", "k-2", "ą-klucz", "x" * 255]))
    return headers


@pytest.fixture
async def room(client: Client) -> dict[str, Any]:
    """A room booked once for the test function (its examples patch it and invite to it)."""
    booked: dict[str, Any] = await book(client, kind="meeting", model="A2A", participants=[
        {"display_name": "dr Anna Nowak", "role": "host", "party": "administration"}])
    return booked


@FAST
@given(data=st.data())
async def test_any_booking_body(client: Client, data: st.DataObject) -> None:
    body = data.draw(raw_bodies(booking()))
    headers = request_headers(data.draw)
    before = await rooms_of(client)
    resp = await client.post("/api/v1/rooms", data=body, headers=headers)
    after = await rooms_of(client)
    if await refused(resp):
        assert after == before
    else:
        assert resp.status == 201
        created = await resp.json()
        new = [] if resp.headers.get("Idempotent-Replayed") else [created["id"]]
        assert [r for r in after if r["id"] not in new] == before
        assert {r["id"] for r in after} == {r["id"] for r in before} | set(new)


@FAST
@given(data=st.data())
async def test_any_patch_body(client: Client, room: dict[str, Any], data: st.DataObject) -> None:
    body = data.draw(raw_bodies({"title": "Nowy tytuł", "external_ref": None, "kind": "council_session"}))
    headers = request_headers(data.draw)
    before = await room_now(client, room["id"])
    resp = await client.patch(f"/api/v1/rooms/{room['id']}", data=body, headers=headers)
    after = await room_now(client, room["id"])
    if await refused(resp):
        assert after == before
    else:
        assert resp.status == 200 and await resp.json() == after


@FAST
@given(data=st.data())
async def test_any_participant_body(client: Client, room: dict[str, Any], data: st.DataObject) -> None:
    body = data.draw(raw_bodies(PERSON))
    headers = request_headers(data.draw)
    before = await room_now(client, room["id"])
    resp = await client.post(f"/api/v1/rooms/{room['id']}/participants", data=body, headers=headers)
    after = await room_now(client, room["id"])
    if await refused(resp):
        assert after == before
    else:
        assert resp.status == 201
        person = await resp.json()
        assert [p for p in after["participants"] if p["id"] != person["id"]] == before["participants"]


QUERY_NAMES = ["from", "to", "external_ref", "kind", "status", "limit", "cursor"]
query_values = st.one_of(
    nasty_text.filter(lambda t: not any("\ud800" <= c <= "\udfff" for c in t)),
    st.sampled_from(["2026-11-22T09:00:00Z", "2026-11-22T09:00+01:00", "2026-W47-7T09:00:00Z", "50", "²",
                     "٣", "9" * 1000, "meeting", "cancelled", "MTox", "LTE6eA", "AAAA"]),
)


def encoded_query(draw: st.DrawFn) -> str:
    """A query string: known and unknown names, text values, or raw percent-encoded bytes."""
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.sampled_from(QUERY_NAMES) | nasty_text.filter(lambda t: not any(
            "\ud800" <= c <= "\udfff" for c in t)))
        if draw(st.integers(0, 3)) == 0:
            value = quote_from_bytes(draw(st.binary(max_size=12)), safe="")
        else:
            value = quote(draw(query_values), safe="")
        parts.append(f"{quote(name, safe='')}={value}")
    return "&".join(parts)


@FAST
@given(data=st.data())
async def test_any_list_query(client: Client, room: dict[str, Any], data: st.DataObject) -> None:
    query = encoded_query(data.draw)
    before = await rooms_of(client)
    resp = await client.get(f"/api/v1/rooms?{query}", headers=auth())
    if not await refused(resp):
        assert resp.status == 200
        page = await resp.json()
        assert {r["id"] for r in page["items"]} <= {r["id"] for r in before}
    assert await rooms_of(client) == before


path_ids = st.one_of(
    nasty_text.filter(lambda t: not any("\ud800" <= c <= "\udfff" for c in t)).map(lambda t: quote(t, safe="")),
    st.binary(min_size=1, max_size=16).map(lambda b: quote_from_bytes(b, safe="")),
)


@FAST
@given(room_id=path_ids, participant_id=path_ids, key=st.text(
    st.characters(codec="latin-1", exclude_characters="\r\n\x00", exclude_categories=["Cc"]), max_size=300))
async def test_odd_ids_and_idempotency_keys(
    client: Client, room: dict[str, Any], room_id: str, participant_id: str, key: str
) -> None:
    before = await rooms_of(client)
    for method, path, body in [
        ("GET", f"/api/v1/rooms/{room_id}", None),
        ("PATCH", f"/api/v1/rooms/{room_id}", {"title": "x"}),
        ("DELETE", f"/api/v1/rooms/{room_id}", None),
        ("GET", f"/api/v1/rooms/{room_id}/live", None),
        ("POST", f"/api/v1/rooms/{room_id}/participants", PERSON),
        ("GET", f"/api/v1/rooms/{room['id']}/participants/{participant_id}", None),
        ("DELETE", f"/api/v1/rooms/{room['id']}/participants/{participant_id}", None),
    ]:
        resp = await client.request(method, path, json=body, headers=auth())
        assert await refused(resp), (method, path)
    resp = await client.post("/api/v1/rooms", json=booking(), headers=auth() | {"Idempotency-Key": key})
    after = await rooms_of(client)
    if await refused(resp):
        assert after == before
    else:
        assert resp.status == 201 and len(after) - len(before) in (0, 1)
