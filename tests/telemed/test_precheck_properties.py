"""Property tests of the pre-call check's inputs: any result body, any bytes, any Authorization header and any
room id get a success only when valid, a 4xx problem+json otherwise, and a refused result changes nothing.

As in tests/api/test_bad_input_properties.py, examples share the node the ``client`` fixture built (the
"nothing changed" being checked); the clock moves a minute per example so that budgets never decide.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rooms.clock import ManualClock
from telemed.precheck.api import MAX_UPLOAD
from telemed.precheck.requests import MAX_KBPS, MAX_RTT_MS
from tests.conftest import NOW, auth, book
from tests.strategies import json_text, json_values, nasty_text, with_overrides
from tests.telemed.precheck_helpers import GOOD, PROBLEM, Client, bearer

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


async def long_visit(client: Client) -> dict[str, Any]:
    """A consultation open from NOW for twelve hours: room for one minute per example."""
    return await book(client, starts_at=(NOW + timedelta(minutes=5)).isoformat(),
                      ends_at=(NOW + timedelta(hours=12)).isoformat())


async def refused(resp: Any) -> bool:
    """True for a 4xx problem; fails the test on a 5xx or a 4xx of another format."""
    assert resp.status < 500, await resp.text()
    if resp.status < 400:
        return False
    assert resp.content_type == PROBLEM, (resp.status, resp.content_type)
    body = await resp.json()
    assert body["status"] == resp.status and body["title"] and body["detail"]
    return True


def valid(body: Any) -> bool:
    """The oracle: what parse_measurement accepts, written independently."""
    if not isinstance(body, dict):
        return False
    flags = all(type(body.get(k)) is bool for k in ("camera", "microphone"))
    speaker = "speaker" in body and (body["speaker"] is None or type(body["speaker"]) is bool)

    def number(name: str, limit: int) -> bool:
        value = body.get(name, "missing")
        return value is None or (type(value) in (int, float) and 0 <= value <= limit)

    return flags and speaker and number("rtt_ms", MAX_RTT_MS) and number("upstream_kbps", MAX_KBPS)


async def results(client: Client, room_id: str) -> Any:
    resp = await client.get(f"/api/v1/rooms/{room_id}/prechecks", headers=auth())
    assert resp.status == 200
    return await resp.json()


@FAST
@given(body=st.one_of(with_overrides(GOOD), json_values,
                      st.fixed_dictionaries({k: st.one_of(st.just(v), json_values) for k, v in GOOD.items()})))
async def test_any_result_body_is_kept_only_when_valid(client: Client, clock: ManualClock, body: Any) -> None:
    room = getattr(client, "precheck_room", None) or await long_visit(client)
    client.precheck_room = room  # type: ignore[attr-defined]
    clock.advance(timedelta(minutes=1))
    before = await results(client, room["id"])
    resp = await client.post("/api/v1/precheck/result", data=json_text(body),
                             headers={**bearer(room["participants"][1]["token"]), "Content-Type": "application/json"})
    if await refused(resp):
        assert not valid(body), body
        assert await results(client, room["id"]) == before
    else:
        assert resp.status == 201 and valid(body), body
        stored = await resp.json()
        assert stored["verdict"] in ("video", "audio_only", "not_working")
        assert (await results(client, room["id"]))["items"][0]["at"] == stored["at"]


@FAST
@given(raw=st.binary(max_size=300))
async def test_any_bytes_as_a_result_are_a_result_or_a_problem(client: Client, clock: ManualClock, raw: bytes) -> None:
    room = getattr(client, "precheck_room", None) or await long_visit(client)
    client.precheck_room = room  # type: ignore[attr-defined]
    clock.advance(timedelta(minutes=1))
    resp = await client.post("/api/v1/precheck/result", data=raw,
                             headers={**bearer(room["participants"][1]["token"]), "Content-Type": "application/json"})
    assert resp.status == 201 or await refused(resp)


@FAST
@given(size=st.integers(0, MAX_UPLOAD + 64), fill=st.binary(min_size=1, max_size=7))
async def test_any_upload_is_counted_or_refused_as_too_large(client: Client, clock: ManualClock, size: int,
                                                             fill: bytes) -> None:
    room = getattr(client, "precheck_room", None) or await long_visit(client)
    client.precheck_room = room  # type: ignore[attr-defined]
    clock.advance(timedelta(minutes=1))
    data = (fill * (size // len(fill) + 1))[:size]
    resp = await client.post("/api/v1/precheck/upload", data=data, headers=bearer(room["participants"][1]["token"]))
    if size > MAX_UPLOAD:
        assert resp.status == 413 and await refused(resp)
    else:
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["bytes"] == size


@FAST
@given(value=nasty_text | st.text(max_size=5000).map(lambda t: "Bearer " + t) | st.sampled_from(["Bearer", "bearer x"]),
       path=st.sampled_from(["ping", "upload", "result", "results"]))
async def test_any_authorization_header_is_refused_unless_a_valid_token(client: Client, value: str,
                                                                         path: str) -> None:
    # What a client can put in a header: latin-1 bytes without controls (the UTF-8 of anything else).
    raw = value.encode("utf-8", "surrogatepass").decode("latin-1")
    value = "".join(c for c in raw if " " <= c <= "\xff" and c != "\x7f")
    method = "GET" if path in ("ping", "results") else "POST"
    resp = await client.request(method, f"/api/v1/precheck/{path}", headers={"Authorization": value}, json=GOOD)
    assert resp.status in (400, 401) and await refused(resp)


@FAST
@given(room_id=nasty_text | st.text(max_size=300))
async def test_any_room_id_is_a_view_or_a_problem(client: Client, room_id: str) -> None:
    path = quote(room_id.encode("utf-8", "surrogatepass"), safe="")
    resp = await client.get(f"/api/v1/rooms/{path}/prechecks", headers=auth())
    assert resp.status == 404 and await refused(resp)
