"""The page behind join_url answers 401/410/too-early in plain words (CONTRACT.md §5)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from rooms.clock import ManualClock
from tests.conftest import NOW, auth, book

Client = TestClient[Any, Any]


def path_of(join_url: str) -> str:
    return join_url.removeprefix("https://video.example.org")


async def test_valid_link_opens_the_client_with_its_bootstrap(client: Client, clock: ManualClock) -> None:
    import json
    import re

    room = await book(client)
    clock.set(NOW + timedelta(hours=1))
    resp = await client.get(path_of(room["participants"][1]["join_url"]))
    assert resp.status == 200
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    text = await resp.text()
    assert '<html lang="pl">' in text
    found = re.search(r'<script type="application/json" id="bootstrap">(.*?)</script>', text, re.S)
    assert found is not None
    bootstrap = json.loads(found.group(1))
    assert bootstrap["you"] == {"id": room["participants"][1]["id"], "name": "Jan Kowalski",
                                "role": "member", "party": "citizen"}
    assert bootstrap["room"]["id"] == room["id"] and bootstrap["socket_path"] == "/socket.io/"


async def test_english_by_accept_language_or_switch(client: Client, clock: ManualClock) -> None:
    room = await book(client)
    url = path_of(room["participants"][1]["join_url"])
    resp = await client.get(url, headers={"Accept-Language": "en-GB,en;q=0.9,pl;q=0.5"})
    text = await resp.text()
    assert '<html lang="en">' in text and "starts at" in text
    resp = await client.get(url + "&lang=en", headers={"Accept-Language": "pl"})
    assert '<html lang="en">' in await resp.text()


async def test_too_early_shows_when_it_starts(client: Client) -> None:
    room = await book(client)  # starts at 09:00 UTC = 10:00 in Warsaw; NOW is 08:00 UTC
    resp = await client.get(path_of(room["participants"][0]["join_url"]))
    assert resp.status == 200
    text = await resp.text()
    assert "22.11.2026 o 10:00" in text and "09:45" in text
    assert 'http-equiv="refresh"' in text


async def test_forged_or_malformed_token_is_401(client: Client) -> None:
    room = await book(client)
    token = room["participants"][0]["token"]
    for bad in (token[:-3] + "abc", "garbage", ""):
        resp = await client.get(f"/join/{room['id']}?t={bad}")
        assert resp.status == 401
        assert "nieprawidłowy" in await resp.text()


async def test_token_of_another_room_is_401(client: Client) -> None:
    a, b = await book(client), await book(client)
    resp = await client.get(f"/join/{b['id']}?t={a['participants'][0]['token']}")
    assert resp.status == 401


async def test_cancelled_room_is_410(client: Client, clock: ManualClock) -> None:
    room = await book(client)
    clock.set(NOW + timedelta(hours=1))
    await client.delete(f"/api/v1/rooms/{room['id']}", headers=auth())
    resp = await client.get(path_of(room["participants"][1]["join_url"]))
    assert resp.status == 410 and "odwołane" in await resp.text()


async def test_removed_participant_is_410(client: Client, clock: ManualClock) -> None:
    room = await book(client)
    clock.set(NOW + timedelta(hours=1))
    person = room["participants"][1]
    await client.delete(f"/api/v1/rooms/{room['id']}/participants/{person['id']}",
                        headers=auth())
    resp = await client.get(path_of(person["join_url"]), headers={"Accept-Language": "en"})
    assert resp.status == 410 and "withdrawn" in await resp.text()


async def test_ended_meeting_is_410(client: Client, clock: ManualClock) -> None:
    room = await book(client)
    clock.set(NOW + timedelta(hours=3))
    resp = await client.get(path_of(room["participants"][1]["join_url"]))
    assert resp.status == 410 and "zakończyło" in await resp.text()


async def test_title_is_escaped(client: Client, clock: ManualClock) -> None:
    room = await book(client, title="<script>alert(1)</script>")
    clock.set(NOW + timedelta(hours=1))
    text = await (await client.get(path_of(room["participants"][0]["join_url"]))).text()
    assert "<script>alert" not in text and "\\u003cscript>alert(1)" in text  # inert in the bootstrap JSON


async def test_token_with_malformed_claims_is_401(client: Client, clock: ManualClock) -> None:
    """Signed with the real secret, only the claims wrong: invalid, never a 500 (issue 8)."""
    import jwt

    from tests.conftest import SECRET, claims_of

    room = await book(client)
    clock.set(NOW + timedelta(hours=1))
    good = claims_of(room["participants"][1]["token"])
    for changes in ({"nbf": "soon"}, {"exp": "later"}, {"exp": 1e308}, {"nbf": 10**400}, {"iat": [1]},
                    {"exp": True}, {"name": 5}, {"role": None}, {"sub": "\ud800"}):
        token = jwt.encode(good | changes, SECRET, algorithm="HS256")
        resp = await client.get(f"/join/{room['id']}", params={"t": token})
        assert resp.status == 401, changes
        assert "nieprawidłowy" in await resp.text()
