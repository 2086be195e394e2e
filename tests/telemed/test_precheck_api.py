"""The pre-call check over HTTP (telemed/precheck/api.py) on a real node and SQLite file: the connection test
(ping, upload), results kept per participant with a bounded history, what a host and the integrator see,
the budgets, and every refusal as problem+json."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from rooms.clock import ManualClock
from telemed.precheck.api import MAX_UPLOAD
from telemed.precheck.grants import TTL
from telemed.precheck.limits import PER_MINUTE
from telemed.precheck.store import HISTORY
from tests.conftest import auth
from tests.telemed.precheck_helpers import GOOD, Client, bearer, open_visit, problem

PING = "/api/v1/precheck/ping"
UPLOAD = "/api/v1/precheck/upload"
RESULT = "/api/v1/precheck/result"
RESULTS = "/api/v1/precheck/results"


async def test_ping_answers_at_once_with_nothing_to_cache(client: Client) -> None:
    room = await open_visit(client)
    patient = room["participants"][1]
    resp = await client.get(PING, headers=bearer(patient["token"]))
    assert resp.status == 204
    assert resp.headers["Cache-Control"] == "no-store"
    assert await resp.read() == b""


async def test_upload_says_how_many_bytes_arrived_and_how_long_it_took(client: Client) -> None:
    room = await open_visit(client)
    patient = room["participants"][1]
    body = bytes(range(256)) * 1024  # 256 KiB
    resp = await client.post(UPLOAD, data=body, headers={**bearer(patient["token"]),
                                                          "Content-Type": "application/octet-stream"})
    assert resp.status == 200, await resp.text()
    assert resp.headers["Cache-Control"] == "no-store"
    answer = await resp.json()
    assert answer["bytes"] == len(body)
    assert isinstance(answer["duration_ms"], float | int) and answer["duration_ms"] >= 0
    # The largest upload the server takes is a mebibyte (the app's usual 256 KiB cap does not apply).
    resp = await client.post(UPLOAD, data=b"\0" * MAX_UPLOAD, headers=bearer(patient["token"]))
    assert resp.status == 200 and (await resp.json())["bytes"] == MAX_UPLOAD


async def test_an_upload_over_a_mebibyte_is_refused(client: Client) -> None:
    room = await open_visit(client)
    token = room["participants"][1]["token"]
    await problem(await client.post(UPLOAD, data=b"\0" * (MAX_UPLOAD + 1), headers=bearer(token)), 413)

    async def stream() -> AsyncIterator[bytes]:  # chunked, no Content-Length: counted as it arrives
        for _ in range(20):
            yield b"\0" * 65536

    body = await problem(await client.post(UPLOAD, data=stream(), headers=bearer(token)), 413)
    assert body["type"] == "urn:konsylium:problem:too-large"
    # The participant may test again right away (the upload's slot was given back).
    assert (await client.post(UPLOAD, data=b"x", headers=bearer(token))).status == 200


async def test_a_result_is_judged_kept_and_shown_to_the_host_and_the_integrator(
    client: Client, clock: ManualClock
) -> None:
    room = await open_visit(client)
    doctor, patient = room["participants"]
    slow = {**GOOD, "upstream_kbps": 300, "speaker": None}
    resp = await client.post(RESULT, json=slow, headers=bearer(patient["token"]))
    assert resp.status == 201, await resp.text()
    stored = await resp.json()
    assert stored == {"participant_id": patient["id"], "camera": True, "microphone": True, "speaker": None,
                      "rtt_ms": 42, "upstream_kbps": 300, "verdict": "audio_only",
                      "advice": ["slow_upload", "audio_only"], "at": "2026-11-22T08:00:00Z"}
    clock.advance(timedelta(seconds=30))
    resp = await client.post(RESULT, json=GOOD, headers=bearer(patient["token"]))  # tested again: latest wins
    assert (await resp.json())["verdict"] == "video"

    for resp in (await client.get(RESULTS, headers=bearer(doctor["token"])),
                 await client.get(f"/api/v1/rooms/{room['id']}/prechecks", headers=auth())):
        assert resp.status == 200, await resp.text()
        assert resp.headers["Cache-Control"] == "no-store"
        view = await resp.json()
        assert view["room_id"] == room["id"]
        [item] = view["items"]
        assert item["participant_id"] == patient["id"]
        assert item["verdict"] == "video" and item["at"] == "2026-11-22T08:00:30Z"
        assert item["earlier"] == [{k: v for k, v in stored.items() if k != "participant_id"}]


async def test_history_is_bounded(client: Client, clock: ManualClock) -> None:
    room = await open_visit(client)
    patient = room["participants"][1]
    for n in range(HISTORY + 3):
        clock.advance(timedelta(minutes=1))  # a fresh budget each time
        resp = await client.post(RESULT, json={**GOOD, "rtt_ms": n}, headers=bearer(patient["token"]))
        assert resp.status == 201
    [item] = (await (await client.get(f"/api/v1/rooms/{room['id']}/prechecks", headers=auth())).json())["items"]
    assert item["rtt_ms"] == HISTORY + 2
    assert [e["rtt_ms"] for e in item["earlier"]] == list(range(HISTORY + 1, 2, -1))


async def test_only_a_host_sees_the_rooms_results(client: Client) -> None:
    room = await open_visit(client)
    patient = room["participants"][1]
    body = await problem(await client.get(RESULTS, headers=bearer(patient["token"])), 403)
    assert body["type"] == "urn:konsylium:problem:forbidden"


async def test_the_integrator_sees_only_its_own_rooms(client: Client) -> None:
    room = await open_visit(client)
    await problem(await client.get(f"/api/v1/rooms/{room['id']}/prechecks", headers=auth("clinic")), 404)
    await problem(await client.get(f"/api/v1/rooms/{room['id']}/prechecks"), 401)
    await problem(await client.get("/api/v1/rooms/nope/prechecks", headers=auth()), 404)
    # A join token is not an integration key, and an integration key is not a join token.
    token = room["participants"][0]["token"]
    await problem(await client.get(f"/api/v1/rooms/{room['id']}/prechecks", headers=bearer(token)), 401)
    await problem(await client.get(RESULTS, headers=auth()), 401)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "},
                                     {"Authorization": "Bearer not-a-token"}])
async def test_every_endpoint_wants_a_valid_join_token(client: Client, headers: dict[str, str]) -> None:
    for method, path in (("GET", PING), ("POST", UPLOAD), ("POST", RESULT), ("GET", RESULTS)):
        body = await problem(await client.request(method, path, headers=headers, json=GOOD), 401)
        assert body["type"] in ("urn:konsylium:problem:unauthorized", "urn:konsylium:problem:invalid-token")


async def test_a_withdrawn_invitation_is_refused_and_its_results_are_not_shown(client: Client) -> None:
    room = await open_visit(client)
    patient = room["participants"][1]
    assert (await client.post(RESULT, json=GOOD, headers=bearer(patient["token"]))).status == 201
    removed = await client.delete(f"/api/v1/rooms/{room['id']}/participants/{patient['id']}", headers=auth())
    assert removed.status == 204
    await problem(await client.get(PING, headers=bearer(patient["token"])), 410)
    view = await (await client.get(f"/api/v1/rooms/{room['id']}/prechecks", headers=auth())).json()
    assert view["items"] == []


async def test_a_link_used_too_early_is_told_when_the_visit_opens(client: Client, clock: ManualClock) -> None:
    room = await open_visit(client)
    clock.advance(timedelta(minutes=-30))
    body = await problem(await client.get(PING, headers=bearer(room["participants"][1]["token"])), 403)
    assert "opens_at" in body


@pytest.mark.parametrize(("body", "pointers"), [
    ([], [""]),
    ({}, ["/camera", "/microphone", "/speaker", "/rtt_ms", "/upstream_kbps"]),
    ({**GOOD, "camera": "yes", "speaker": 1}, ["/camera", "/speaker"]),
    ({**GOOD, "rtt_ms": -1, "upstream_kbps": 10**12}, ["/rtt_ms", "/upstream_kbps"]),
    ({**GOOD, "rtt_ms": True}, ["/rtt_ms"]),
])
async def test_a_bad_result_names_every_bad_field(client: Client, body: Any, pointers: list[str]) -> None:
    room = await open_visit(client)
    resp = await client.post(RESULT, json=body, headers=bearer(room["participants"][1]["token"]))
    found = await problem(resp, 422)
    assert [e["pointer"] for e in found["errors"]] == pointers


async def test_a_result_that_is_not_json_is_refused(client: Client) -> None:
    room = await open_visit(client)
    token = room["participants"][1]["token"]
    await problem(await client.post(RESULT, data=b"{", headers={**bearer(token), "Content-Type": "application/json"}),
                  400)
    await problem(await client.post(RESULT, data=b"{}", headers={**bearer(token), "Content-Type": "text/plain"}), 415)


async def test_each_participant_has_a_budget_per_minute(client: Client, clock: ManualClock) -> None:
    room = await open_visit(client)
    doctor, patient = room["participants"]
    for _ in range(PER_MINUTE["result"]):
        assert (await client.post(RESULT, json=GOOD, headers=bearer(patient["token"]))).status == 201
    resp = await client.post(RESULT, json=GOOD, headers=bearer(patient["token"]))
    body = await problem(resp, 429)
    assert body["type"] == "urn:konsylium:problem:rate-limited" and resp.headers["Retry-After"] == "60"
    # Another participant's budget is their own; the patient's comes back after the minute.
    assert (await client.post(RESULT, json=GOOD, headers=bearer(doctor["token"]))).status == 201
    clock.advance(timedelta(minutes=1))
    assert (await client.post(RESULT, json=GOOD, headers=bearer(patient["token"]))).status == 201


async def test_one_upload_at_a_time_per_participant(client: Client) -> None:
    room = await open_visit(client)
    token = room["participants"][1]["token"]
    release = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield b"x" * 1000
        await release.wait()
        yield b"y"

    first = asyncio.ensure_future(client.post(UPLOAD, data=slow(), headers=bearer(token)))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:  # the first upload holds the participant's slot once its body started
        resp = await client.post(UPLOAD, data=b"z", headers=bearer(token))
        if resp.status == 429:
            break
        assert resp.status == 200 and loop.time() < deadline
        await asyncio.sleep(0.02)
    release.set()
    done = await first
    assert done.status == 200 and (await done.json())["bytes"] == 1001


async def test_no_name_or_token_is_logged(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    room = await open_visit(client)
    doctor, patient = room["participants"]
    await client.get(PING, headers=bearer(patient["token"]))
    await client.post(UPLOAD, data=b"x" * 1000, headers=bearer(patient["token"]))
    await client.post(RESULT, json=GOOD, headers=bearer(patient["token"]))
    await client.get(RESULTS, headers=bearer(doctor["token"]))
    await client.post(RESULT, json={"camera": "?"}, headers=bearer(patient["token"]))
    logged = caplog.text
    assert f"participant={patient['id']}" in logged
    for secret in (patient["token"], doctor["token"], patient["display_name"], doctor["display_name"], room["title"]):
        assert secret not in logged


async def test_the_connection_test_reuses_a_grant_for_seconds_results_never(client: Client, clock: ManualClock) -> None:
    """Pings and uploads measure the network, not the store: a token verified less than TTL ago is not read
    again (a withdrawn invitation stops the connection test within TTL, its results at once)."""
    room = await open_visit(client)
    patient = room["participants"][1]
    assert (await client.get(PING, headers=bearer(patient["token"]))).status == 204
    removed = await client.delete(f"/api/v1/rooms/{room['id']}/participants/{patient['id']}", headers=auth())
    assert removed.status == 204
    assert (await client.get(PING, headers=bearer(patient["token"]))).status == 204
    assert (await client.post(UPLOAD, data=b"x", headers=bearer(patient["token"]))).status == 200
    await problem(await client.post(RESULT, json=GOOD, headers=bearer(patient["token"])), 410)
    clock.advance(TTL)
    await problem(await client.get(PING, headers=bearer(patient["token"])), 410)
    await problem(await client.post(UPLOAD, data=b"x", headers=bearer(patient["token"])), 410)
