"""The booking API end to end over real HTTP on a real SQLite file (CONTRACT.md §2)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from rooms.clock import ManualClock
from tests.conftest import KEYS, NOW, auth, book, booking, claims_of

Client = TestClient[Any, Any]
PROBLEM = "application/problem+json"


async def problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == PROBLEM
    body: dict[str, Any] = await resp.json()
    assert body["status"] == status
    assert body["type"] and body["title"] and body["detail"]
    return body


async def test_book_returns_room_with_tokens_and_join_urls(client: Client) -> None:
    resp = await client.post("/api/v1/rooms", json=booking(), headers=auth())
    assert resp.status == 201
    room = await resp.json()
    assert resp.headers["Location"] == f"https://video.example.org/api/v1/rooms/{room['id']}"
    assert room["title"] == "Konsultacja kardiologiczna"
    assert (room["kind"], room["model"], room["status"]) == ("consultation", "A2C", "scheduled")
    assert room["starts_at"] == "2026-11-22T09:00:00Z"
    assert room["join_window"] == {
        "opens_at": "2026-11-22T08:45:00Z",
        "closes_at": "2026-11-22T10:00:00Z",
    }
    assert room["policy"]["lobby_for"] == ["citizen"]
    host, patient = room["participants"]
    assert (host["role"], host["party"]) == ("host", "administration")
    assert patient["display_name"] == "Jan Kowalski"
    for person in room["participants"]:
        claims = claims_of(person["token"])
        assert claims["sub"] == person["id"] and claims["room"] == room["id"]
        assert person["join_url"] == (
            f"https://video.example.org/join/{room['id']}?t={person['token']}"
        )


async def test_unknown_fields_are_ignored(client: Client) -> None:
    room = await book(client, x_portal_case={"id": 7}, priority="high")
    assert "x_portal_case" not in room


async def test_get_returns_the_same_tokens(client: Client) -> None:
    room = await book(client)
    resp = await client.get(f"/api/v1/rooms/{room['id']}", headers=auth())
    assert resp.status == 200
    again = await resp.json()
    assert [p["token"] for p in again["participants"]] == [
        p["token"] for p in room["participants"]
    ]


@pytest.mark.parametrize(
    ("overrides", "pointers"),
    [
        ({"title": ""}, ["/title"]),
        ({"title": "x" * 201}, ["/title"]),
        ({"title": 5}, ["/title"]),
        ({"kind": "party"}, ["/kind"]),
        ({"model": "C2C"}, ["/model"]),
        ({"starts_at": "tomorrow"}, ["/starts_at"]),
        ({"starts_at": "2026-12-01T09:00:00"}, ["/starts_at"]),
        ({"ends_at": (NOW + timedelta(minutes=30)).isoformat()}, ["/ends_at"]),
        ({"starts_at": (NOW - timedelta(hours=3)).isoformat(),
          "ends_at": (NOW - timedelta(hours=2)).isoformat()}, ["/ends_at"]),
        ({"ends_at": (NOW + timedelta(hours=30)).isoformat()}, ["/ends_at"]),
        ({"external_ref": ""}, ["/external_ref"]),
        ({"participants": "everyone"}, ["/participants"]),
        ({"participants": [{"display_name": "A", "role": "king", "party": "citizen"}]},
         ["/participants/0/role"]),
        ({"participants": [{"display_name": "", "role": "member", "party": "guild"}]},
         ["/participants/0/display_name", "/participants/0/party"]),
        ({"participants": [{"display_name": "Jan", "role": "host", "party": "citizen"}]},
         ["/participants/0/role"]),
        ({"model": "A2A",
          "participants": [{"display_name": "Jan", "role": "member", "party": "citizen"}]},
         ["/participants/0/party"]),
        ({"participants": [
            {"display_name": f"P{i}", "role": "member", "party": "citizen"} for i in range(9)
        ]}, ["/participants"]),
        ({"participants": [7]}, ["/participants/0"]),
    ],
)
async def test_validation_names_every_bad_field(
    client: Client, overrides: dict[str, Any], pointers: list[str]
) -> None:
    resp = await client.post("/api/v1/rooms", json=booking(**overrides), headers=auth())
    body = await problem(resp, 422)
    assert [e["pointer"] for e in body["errors"]] == pointers


async def test_all_missing_fields_are_listed_together(client: Client) -> None:
    resp = await client.post("/api/v1/rooms", json={}, headers=auth())
    body = await problem(resp, 422)
    assert {e["pointer"] for e in body["errors"]} == {
        "/title", "/kind", "/model", "/starts_at", "/ends_at"
    }


@pytest.mark.parametrize(
    ("data", "headers", "status"),
    [
        (b"{not json", {"Content-Type": "application/json"}, 400),
        (b"[1, 2]", {"Content-Type": "application/json"}, 422),
        (b"title=x", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
        (b"{}", {}, 415),
        (b'{"title": "' + b"x" * 300_000 + b'"}', {"Content-Type": "application/json"}, 413),
    ],
)
async def test_bad_bodies_get_problems(
    client: Client, data: bytes, headers: dict[str, str], status: int
) -> None:
    resp = await client.post("/api/v1/rooms", data=data, headers={**auth(), **headers})
    await problem(resp, status)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {KEYS['portal']}"},
     {"Authorization": "Bearer "}],
)
async def test_unauthenticated_requests_get_401(client: Client, headers: dict[str, str]) -> None:
    for method, path in [("POST", "/api/v1/rooms"), ("GET", "/api/v1/rooms"),
                         ("GET", "/api/v1/rooms/x"), ("DELETE", "/api/v1/rooms/x")]:
        resp = await client.request(method, path, json=booking(), headers=headers)
        await problem(resp, 401)
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_unknown_path_and_method_are_problems(client: Client) -> None:
    await problem(await client.get("/api/v1/nothing", headers=auth()), 404)
    resp = await client.put("/api/v1/rooms", headers=auth())
    await problem(resp, 405)
    assert set(resp.headers["Allow"].split(",")) == {"GET", "POST"}


async def test_tenant_isolation_matrix(client: Client) -> None:
    """A tenant never sees or changes another's rooms: 404 everywhere, nothing changes."""
    room = await book(client, "portal")
    rid = room["id"]
    pid = room["participants"][1]["id"]
    attempts: list[tuple[str, str, Any]] = [
        ("GET", f"/api/v1/rooms/{rid}", None),
        ("PATCH", f"/api/v1/rooms/{rid}", {"title": "Taken over"}),
        ("DELETE", f"/api/v1/rooms/{rid}", None),
        ("POST", f"/api/v1/rooms/{rid}/participants",
         {"display_name": "Intruder", "role": "host", "party": "administration"}),
        ("GET", f"/api/v1/rooms/{rid}/participants/{pid}", None),
        ("DELETE", f"/api/v1/rooms/{rid}/participants/{pid}", None),
        ("GET", f"/api/v1/rooms/{rid}/live", None),
    ]
    for method, path, body in attempts:
        resp = await client.request(method, path, json=body, headers=auth("clinic"))
        await problem(resp, 404)
    listed = await (await client.get("/api/v1/rooms", headers=auth("clinic"))).json()
    assert listed["items"] == []
    after = await (await client.get(f"/api/v1/rooms/{rid}", headers=auth())).json()
    assert after == room


async def test_idempotency_key_replays_the_first_result(client: Client) -> None:
    headers = {**auth(), "Idempotency-Key": "portal-req-1"}
    first = await client.post("/api/v1/rooms", json=booking(), headers=headers)
    second = await client.post("/api/v1/rooms", json=booking(), headers=headers)
    assert first.status == second.status == 201
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert await first.json() == await second.json()
    listed = await (await client.get("/api/v1/rooms", headers=auth())).json()
    assert len(listed["items"]) == 1


async def test_idempotency_key_with_other_body_is_refused(client: Client) -> None:
    headers = {**auth(), "Idempotency-Key": "portal-req-2"}
    assert (await client.post("/api/v1/rooms", json=booking(), headers=headers)).status == 201
    resp = await client.post("/api/v1/rooms", json=booking(title="Other"), headers=headers)
    body = await problem(resp, 422)
    assert body["type"].endswith("idempotency-key-reused")


async def test_idempotency_keys_are_per_tenant(client: Client) -> None:
    key = {"Idempotency-Key": "same-key"}
    a = await client.post("/api/v1/rooms", json=booking(), headers={**auth("portal"), **key})
    b = await client.post("/api/v1/rooms", json=booking(), headers={**auth("clinic"), **key})
    assert a.status == b.status == 201
    assert (await a.json())["id"] != (await b.json())["id"]


async def test_concurrent_retries_with_one_key_book_once(client: Client) -> None:
    import asyncio

    headers = {**auth(), "Idempotency-Key": "burst"}
    answers = await asyncio.gather(
        *(client.post("/api/v1/rooms", json=booking(), headers=headers) for _ in range(10))
    )
    ids = {(await r.json())["id"] for r in answers}
    assert len(ids) == 1 and all(r.status == 201 for r in answers)


async def test_bad_idempotency_key_is_a_validation_error(client: Client) -> None:
    headers = {**auth(), "Idempotency-Key": "x" * 300}
    body = await problem(await client.post("/api/v1/rooms", json=booking(), headers=headers), 422)
    assert body["errors"][0]["pointer"] == "/headers/Idempotency-Key"


async def test_list_filters_and_pagination(client: Client) -> None:
    ids = []
    for day in range(5):
        start = NOW + timedelta(days=day, hours=1)
        room = await book(
            client,
            starts_at=start.isoformat(),
            ends_at=(start + timedelta(minutes=30)).isoformat(),
            external_ref=f"REF-{day % 2}",
            kind="meeting" if day == 4 else "consultation",
        )
        ids.append(room["id"])
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = await (await client.get("/api/v1/rooms", params=query, headers=auth())).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids

    async def listed(**params: str) -> list[str]:
        resp = await client.get("/api/v1/rooms", params=params, headers=auth())
        assert resp.status == 200, await resp.text()
        return [r["id"] for r in (await resp.json())["items"]]

    assert await listed(external_ref="REF-1") == [ids[1], ids[3]]
    assert await listed(kind="meeting") == [ids[4]]
    window_from = (NOW + timedelta(days=1)).isoformat()
    window_to = (NOW + timedelta(days=3)).isoformat()
    assert await listed(**{"from": window_from, "to": window_to}) == [ids[1], ids[2]]


@pytest.mark.parametrize(
    ("params", "pointer"),
    [({"limit": "0"}, "/limit"), ({"limit": "x"}, "/limit"), ({"kind": "party"}, "/kind"),
     ({"from": "yesterday"}, "/from"), ({"cursor": "!!!"}, "/cursor"),
     ({"status": "gone"}, "/status"),
     ({"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"}, "/to")],
)
async def test_list_rejects_bad_filters(client: Client, params: dict[str, str], pointer: str) -> None:
    body = await problem(await client.get("/api/v1/rooms", params=params, headers=auth()), 422)
    assert body["errors"][0]["pointer"] == pointer


async def test_patch_reschedules_and_reissues_tokens(client: Client) -> None:
    room = await book(client)
    start = NOW + timedelta(days=1)
    resp = await client.patch(
        f"/api/v1/rooms/{room['id']}",
        json={"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
              "title": "Kontrola", "external_ref": None},
        headers=auth(),
    )
    assert resp.status == 200, await resp.text()
    edited = await resp.json()
    assert edited["title"] == "Kontrola" and edited["external_ref"] is None
    assert edited["starts_at"] == "2026-11-23T08:00:00Z"
    old, new = room["participants"][0]["token"], edited["participants"][0]["token"]
    assert old != new
    claims = claims_of(new)
    assert claims["nbf"] == int((start - timedelta(minutes=15)).timestamp())


@pytest.mark.parametrize(
    ("body", "pointer"),
    [({"ends_at": "2026-11-22T08:30:00Z"}, "/ends_at"), ({"kind": "nope"}, "/kind"),
     ({"model": "A2A"}, "/participants/1/party"), ({"participants": []}, "/participants"),
     ({"title": ""}, "/title")],
)
async def test_patch_validation(client: Client, body: dict[str, Any], pointer: str) -> None:
    room = await book(client)
    resp = await client.patch(f"/api/v1/rooms/{room['id']}", json=body, headers=auth())
    assert (await problem(resp, 422))["errors"][0]["pointer"] == pointer
    after = await (await client.get(f"/api/v1/rooms/{room['id']}", headers=auth())).json()
    assert after == room


async def test_cancel_then_edits_conflict_and_listing_shows_cancelled(client: Client) -> None:
    room = await book(client)
    path = f"/api/v1/rooms/{room['id']}"
    assert (await client.delete(path, headers=auth())).status == 204
    assert (await client.delete(path, headers=auth())).status == 204
    got = await (await client.get(path, headers=auth())).json()
    assert got["status"] == "cancelled" and got["cancelled_at"] == "2026-11-22T08:00:00Z"
    await problem(await client.patch(path, json={"title": "x"}, headers=auth()), 409)
    invite = {"display_name": "Late", "role": "member", "party": "citizen"}
    await problem(await client.post(f"{path}/participants", json=invite, headers=auth()), 409)
    listed = await (await client.get("/api/v1/rooms", params={"status": "scheduled"},
                                     headers=auth())).json()
    assert listed["items"] == []


async def test_participants_add_get_remove(client: Client) -> None:
    room = await book(client)
    path = f"/api/v1/rooms/{room['id']}/participants"
    invite = {"display_name": "Tłumaczka", "role": "member", "party": "citizen"}
    resp = await client.post(path, json=invite, headers=auth())
    assert resp.status == 201
    person = await resp.json()
    assert resp.headers["Location"].endswith(f"/participants/{person['id']}")
    assert person["join_url"].endswith(person["token"])
    got = await (await client.get(f"{path}/{person['id']}", headers=auth())).json()
    assert got == person
    assert (await client.delete(f"{path}/{person['id']}", headers=auth())).status == 204
    await problem(await client.get(f"{path}/{person['id']}", headers=auth()), 404)
    await problem(await client.delete(f"{path}/{person['id']}", headers=auth()), 404)
    after = await (await client.get(f"/api/v1/rooms/{room['id']}", headers=auth())).json()
    assert person["id"] not in [p["id"] for p in after["participants"]]


async def test_participant_validation_and_limits(client: Client) -> None:
    room = await book(client)
    path = f"/api/v1/rooms/{room['id']}/participants"
    bad = await client.post(path, json={"display_name": "Jan", "role": "host", "party": "citizen"},
                            headers=auth())
    assert (await problem(bad, 422))["errors"][0]["pointer"] == "/role"
    bad = await client.post(path, json={"role": "ghost"}, headers=auth())
    assert {e["pointer"] for e in (await problem(bad, 422))["errors"]} == {
        "/display_name", "/role", "/party"}
    for i in range(6):  # consultation: 8 at most, 2 booked
        ok = await client.post(path, json={"display_name": f"P{i}", "role": "viewer",
                                           "party": "citizen"}, headers=auth())
        assert ok.status == 201
    full = await client.post(path, json={"display_name": "P9", "role": "viewer",
                                         "party": "citizen"}, headers=auth())
    await problem(full, 409)


async def test_participant_idempotency(client: Client) -> None:
    room = await book(client)
    path = f"/api/v1/rooms/{room['id']}/participants"
    invite = {"display_name": "Syn", "role": "member", "party": "citizen"}
    headers = {**auth(), "Idempotency-Key": "inv-1"}
    a = await client.post(path, json=invite, headers=headers)
    b = await client.post(path, json=invite, headers=headers)
    assert (await a.json()) == (await b.json()) and b.headers["Idempotent-Replayed"] == "true"


async def test_live_of_a_room_nobody_joined_is_empty(client: Client) -> None:
    """The live view comes from the live room (tests/signalling/test_live_api.py); none yet: empty."""
    room = await book(client)
    path = f"/api/v1/rooms/{room['id']}/live"
    assert await (await client.get(path, headers=auth())).json() == {
        "room_id": room["id"], "participants": [], "locked": False}


async def test_unexpected_failure_is_a_problem_with_an_id(
    client: Client, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from konsylium.app import NODE

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(client.app[NODE].store, "list_rooms", broken)
    resp = await client.get("/api/v1/rooms", headers=auth())
    body = await problem(resp, 500)
    assert "disk on fire" not in await resp.text() and "Traceback" not in await resp.text()
    assert body["error_id"] in caplog.text


async def test_store_failure_keeps_other_requests_working(client: Client) -> None:
    await book(client)
    await problem(await client.post("/api/v1/rooms", json=booking(kind="x"), headers=auth()), 422)
    assert len((await (await client.get("/api/v1/rooms", headers=auth())).json())["items"]) == 1


async def test_clock_is_injected(client: Client, clock: ManualClock) -> None:
    clock.advance(timedelta(days=2))
    resp = await client.post("/api/v1/rooms", json=booking(), headers=auth())
    assert (await problem(resp, 422))["errors"][0]["pointer"] == "/ends_at"
