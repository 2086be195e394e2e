"""Bad input to the booking API gets a 4xx problem and changes nothing (issue 8, section 3).

Each case here answered 500 or was accepted before: deep nesting, lone
surrogates anywhere in a body, non-ASCII digits in ``limit``, invisible or
reordering characters in text, and dates that are not strict RFC 3339.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import auth, book, booking

Client = TestClient[Any, Any]
PROBLEM = "application/problem+json"
JSON = {"Content-Type": "application/json"}


async def problem(resp: Any, *statuses: int) -> dict[str, Any]:
    assert resp.status in statuses, await resp.text()
    assert resp.content_type == PROBLEM
    body: dict[str, Any] = await resp.json()
    assert body["status"] == resp.status
    return body


async def rooms_of(client: Client, tenant: str = "portal") -> list[dict[str, Any]]:
    resp = await client.get("/api/v1/rooms", params={"limit": "200"}, headers=auth(tenant))
    assert resp.status == 200
    items: list[dict[str, Any]] = (await resp.json())["items"]
    return items


def with_raw_field(body: dict[str, Any], raw: str) -> bytes:
    """*body* as JSON with one more member written as raw JSON text (``"key": value``)."""
    head = json.dumps(body)[:-1]
    return (head + (", " if body else "") + raw + "}").encode()


DEEP = ["[" * 5000 + "]" * 5000, '{"a":' * 3000 + "1" + "}" * 3000, "[" * 65 + "]" * 65]


@pytest.mark.parametrize("nested", DEEP, ids=["arrays-5000", "objects-3000", "arrays-65"])
async def test_deep_nesting_is_400_everywhere(client: Client, nested: str) -> None:
    room = await book(client)
    before = await rooms_of(client)
    for method, path, body in [
        ("POST", "/api/v1/rooms", booking()),
        ("PATCH", f"/api/v1/rooms/{room['id']}", {"title": "Nowy"}),
        ("POST", f"/api/v1/rooms/{room['id']}/participants",
         {"display_name": "Ewa", "role": "member", "party": "citizen"}),
    ]:
        resp = await client.request(method, path, data=with_raw_field(body, f'"x": {nested}'),
                                    headers=auth() | JSON)
        found = await problem(resp, 400)
        assert found["type"] == "urn:konsylium:problem:malformed-json"
        resp = await client.request(method, path, data=nested.encode(), headers=auth() | JSON)
        await problem(resp, 400)
    assert await rooms_of(client) == before


@pytest.mark.parametrize(
    "member",
    [
        r'"title": "Wizyta \ud800"',
        r'"x_case": "\udfff"',
        r'"x_\ud800": 1',
        r'"x_meta": {"notes": ["ok", "\udc00"]}',
        r'"participants": [{"display_name": "Jan \ud83d", "role": "member", "party": "citizen"}]',
    ],
)
@pytest.mark.parametrize("idempotency", [False, True])
async def test_lone_surrogates_are_refused_and_nothing_is_stored(
    client: Client, member: str, idempotency: bool
) -> None:
    before = await rooms_of(client)
    headers = auth() | JSON | ({"Idempotency-Key": "surrogate-1"} if idempotency else {})
    resp = await client.post("/api/v1/rooms", data=with_raw_field(booking(), member), headers=headers)
    await problem(resp, 400, 422)
    assert await rooms_of(client) == before


async def test_lone_surrogates_in_patch_and_participant_bodies(client: Client) -> None:
    room = await book(client)
    before = await rooms_of(client)
    for member in (r'"title": "\ud800"', r'"x": "\udbff"', r'"\udc00": null'):
        resp = await client.patch(f"/api/v1/rooms/{room['id']}", data=with_raw_field({}, member),
                                  headers=auth() | JSON)
        await problem(resp, 400, 422)
        person = {"display_name": "Ewa", "role": "member", "party": "citizen"}
        resp = await client.post(f"/api/v1/rooms/{room['id']}/participants",
                                 data=with_raw_field(person, member),
                                 headers=auth() | JSON | {"Idempotency-Key": "p-1"})
        await problem(resp, 400, 422)
    assert await rooms_of(client) == before


@pytest.mark.parametrize("raw", [b'{"x": NaN}', b'{"x": Infinity}', b'{"x": -Infinity}', b'{"x": 1e400}'])
async def test_numbers_json_cannot_carry_are_refused(client: Client, raw: bytes) -> None:
    body = json.dumps(booking())[:-1].encode() + b", " + raw[1:]
    resp = await client.post("/api/v1/rooms", data=body, headers=auth() | JSON)
    await problem(resp, 400)


@pytest.mark.parametrize(
    "limit", ["²", "٣", "\uff11\uff10", "1²", "0", "201", "-1", "1e2", " 5", "5 ", "0x10", "9" * 5000]
)
async def test_limit_takes_ascii_digits_only(client: Client, limit: str) -> None:
    resp = await client.get("/api/v1/rooms", params={"limit": limit}, headers=auth())
    found = await problem(resp, 422)
    assert [e["pointer"] for e in found["errors"]] == ["/limit"]


async def test_limit_in_range_is_fine(client: Client) -> None:
    for limit in ("1", "200", "050"):
        resp = await client.get("/api/v1/rooms", params={"limit": limit}, headers=auth())
        assert resp.status == 200


REFUSED_TEXT = [
    "Wizyta\x85kontrolna",  # C1 next line
    "Wizyta \x9b31m",  # C1 control sequence introducer
    "\x80",
    "Jan \u202eikswolwoK",  # right-to-left override
    "Jan \u2066x\u2069",  # isolates
    "Jan\u2028Kowalski",  # line separator
    "\u200b",
    "\u200b\u200c\u200d",
    "\u2060\ufeff",
    " \u200b ",
    "\u3164",  # Hangul filler: draws nothing
    "\u00a0\u2003",
    "\u0301\u0301",  # combining marks with nothing to sit on
    "x\ufffe",
]


@pytest.mark.parametrize("text", REFUSED_TEXT)
async def test_unsafe_or_invisible_text_is_refused(client: Client, text: str) -> None:
    before = await rooms_of(client)
    bodies = {
        "/title": booking(title=text),
        "/external_ref": booking(external_ref=text),
        "/participants/0/display_name": booking(
            participants=[{"display_name": text, "role": "host", "party": "administration"}]),
    }
    for pointer, body in bodies.items():
        resp = await client.post("/api/v1/rooms", json=body, headers=auth())
        found = await problem(resp, 422)
        assert [e["pointer"] for e in found["errors"]] == [pointer], text
    room = await book(client)
    resp = await client.patch(f"/api/v1/rooms/{room['id']}", json={"title": text}, headers=auth())
    assert [e["pointer"] for e in (await problem(resp, 422))["errors"]] == ["/title"]
    resp = await client.post(f"/api/v1/rooms/{room['id']}/participants", headers=auth(),
                             json={"display_name": text, "role": "member", "party": "citizen"})
    assert [e["pointer"] for e in (await problem(resp, 422))["errors"]] == ["/display_name"]
    resp = await client.get("/api/v1/rooms", params={"external_ref": text}, headers=auth())
    assert [e["pointer"] for e in (await problem(resp, 422))["errors"]] == ["/external_ref"]
    assert len(await rooms_of(client)) == len(before) + 1


@pytest.mark.parametrize(
    "text",
    ["Zoë Żółć", "👩\u200d⚕️ dr Anna", "Konsultacja\u00a0kardiologiczna", "\u0645\u0631\u062d\u0628\u0627",
     "\u0633\u0644\u0627\u0645\u200c\u062f\u0646\u06cc\u0627",
     "a\u0301", "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"],
)
async def test_visible_text_with_joiners_stays_allowed(client: Client, text: str) -> None:
    room = await book(client, title=text, external_ref=text, participants=[
        {"display_name": text, "role": "host", "party": "administration"}])
    assert room["title"] == text and room["participants"][0]["display_name"] == text


REFUSED_DATES = [
    "2026-11-22T09:00+01:00",  # no seconds
    "2026-11-22T09:00Z",
    "2026-W47-7T09:00:00Z",  # ISO week date
    "2026-326T09:00:00Z",  # ordinal date
    "20261122T090000Z",  # basic format
    "2026-11-22T090000Z",
    "2026-11-22T09:00:00+0100",
    "2026-11-22T09:00:00+01",
    "2026-11-22 09:00:00Z",  # a space instead of T
    "2026-11-22T09:00:00",  # no offset
    "2026-11-22T09:00:00.Z",
    "2026-11-22T09:00:60Z",  # a leap second Python cannot hold
    "2026-11-22T24:00:00Z",
    "2026-02-30T09:00:00Z",
    "2026-11-22T09:00:00+24:00",
    "٢٠٢٦-11-22T09:00:00Z",  # Arabic-Indic digits
    "2026-11-22T09:00:00.1234567890Z",
    "2026-11-22",
    "+2026-11-22T09:00:00Z",
]


@pytest.mark.parametrize("value", REFUSED_DATES)
async def test_dates_must_be_strict_rfc3339(client: Client, value: str) -> None:
    resp = await client.post("/api/v1/rooms", json=booking(starts_at=value), headers=auth())
    assert [e["pointer"] for e in (await problem(resp, 422))["errors"]] == ["/starts_at"]
    for name in ("from", "to"):
        resp = await client.get("/api/v1/rooms", params={name: value}, headers=auth())
        assert [e["pointer"] for e in (await problem(resp, 422))["errors"]] == [f"/{name}"]
    assert await rooms_of(client) == []


@pytest.mark.parametrize(
    ("starts_at", "ends_at"),
    [
        ("2026-11-22T10:00:00+01:00", "2026-11-22T10:30:00+01:00"),
        ("2026-11-22T09:00:00Z", "2026-11-22T09:30:00.5Z"),
        ("2026-11-22t09:00:00z", "2026-11-22T09:30:00.123456789-00:00"),
    ],
)
async def test_strict_rfc3339_variants_are_accepted(client: Client, starts_at: str, ends_at: str) -> None:
    room = await book(client, starts_at=starts_at, ends_at=ends_at)
    assert room["starts_at"] == "2026-11-22T09:00:00Z"
    resp = await client.get("/api/v1/rooms", params={"from": starts_at, "to": ends_at}, headers=auth())
    assert [r["id"] for r in (await resp.json())["items"]] == [room["id"]]


@pytest.mark.parametrize(
    "key", ["a" * 256, "", "klucz\u0085", "\u202e", "\u2028"],
)
async def test_odd_idempotency_keys_are_422(client: Client, key: str) -> None:
    resp = await client.post("/api/v1/rooms", json=booking(),
                             headers=auth() | {"Idempotency-Key": key})
    await problem(resp, 422)
    assert await rooms_of(client) == []


async def test_odd_path_ids_and_cursors_are_4xx(client: Client) -> None:
    for room_id in ("%00", "%ED%A0%80", "%FF%FE", "x" * 4000, "..%2F..", "%E2%80%AE"):
        for method in ("GET", "PATCH", "DELETE"):
            resp = await client.request(method, f"/api/v1/rooms/{room_id}", json={}, headers=auth())
            await problem(resp, 404)
        resp = await client.post(f"/api/v1/rooms/{room_id}/participants", headers=auth(),
                                 json={"display_name": "Ewa", "role": "member", "party": "citizen"})
        await problem(resp, 404)
    for cursor in ("%00", "%ED%A0%80", "AAAA", "_-_-", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk6eA", "=" * 10):
        resp = await client.get(f"/api/v1/rooms?cursor={cursor}", headers=auth())
        assert resp.status in (200, 422), await resp.text()
