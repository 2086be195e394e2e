"""The audit trail over the API and `konsylium audit verify`: a room's booking changes, in order, on a
hash chain that names the first entry edited in the SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings

from konsylium.app import STORE_FILE
from tests.conftest import auth, book
from tests.processes import run_cli
from tests.strategies import nasty_text

Client = TestClient[Any, Any]


async def trail(client: Client, room_id: str, tenant: str = "portal") -> Any:
    resp = await client.get(f"/api/v1/rooms/{room_id}/audit", headers=auth(tenant))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def a_room_with_a_history(client: Client) -> dict[str, Any]:
    room = await book(client)
    one = f"/api/v1/rooms/{room['id']}"
    assert (await client.patch(one, json={"title": "Inny tytuł"}, headers=auth())).status == 200
    resp = await client.post(f"{one}/participants", headers=auth(),
                             json={"display_name": "Tłumacz", "role": "member", "party": "administration"})
    assert resp.status == 201
    guest = await resp.json()
    assert (await client.delete(f"{one}/participants/{guest['id']}", headers=auth())).status == 204
    assert (await client.delete(one, headers=auth())).status == 204
    return {**room, "guest": guest}


async def test_the_trail_lists_every_change_with_ids_only(client: Client) -> None:
    room = await a_room_with_a_history(client)
    body = await trail(client, room["id"])
    events = [e["event"] for e in body["entries"]]
    assert [e["type"] for e in events] == ["booking.created", "booking.updated", "participant.added",
                                           "participant.removed", "booking.cancelled"]
    assert [e["seq"] for e in body["entries"]] == [1, 2, 3, 4, 5]
    assert events[1]["data"] == {"fields": ["title"]}
    assert events[2]["participant_id"] == room["guest"]["id"] and events[2]["by"] == "api"
    assert body["verification"] == {"ok": True, "entries": 5, "head": body["entries"][-1]["hash"],
                                    "first_bad_seq": None, "problem": None}
    text = str(body)
    for private in ("Tłumacz", "Inny tytuł", room["title"], room["participants"][1]["display_name"]):
        assert private not in text  # ids and states only


async def test_another_tenants_room_has_no_trail(client: Client) -> None:
    room = await book(client)
    resp = await client.get(f"/api/v1/rooms/{room['id']}/audit", headers=auth("clinic"))
    assert resp.status == 404 and resp.content_type == "application/problem+json"


async def test_an_edited_entry_fails_verification_here_and_in_the_command(client: Client, tmp_path: Path) -> None:
    room = await a_room_with_a_history(client)
    done = run_cli(["audit", "verify", "--data-dir", str(tmp_path)], {})
    assert done.returncode == 0, done.stderr
    assert f"ok      room={room['id']} entries=5" in done.stdout
    conn = sqlite3.connect(tmp_path / STORE_FILE)
    conn.execute("UPDATE events SET body = replace(body, '\"title\"', '\"ends_at\"') WHERE seq = 2")
    conn.commit()
    conn.close()
    body = await trail(client, room["id"])
    assert body["verification"]["ok"] is False and body["verification"]["first_bad_seq"] == 2
    done = run_cli(["audit", "verify", "--data-dir", str(tmp_path)], {})
    assert done.returncode == 1
    assert f"BROKEN  room={room['id']} entries=5 first bad entry=2" in done.stdout
    assert "1 room(s) checked, 1 broken" in done.stdout


def test_the_command_without_a_store_says_so(tmp_path: Path) -> None:
    done = run_cli(["audit", "verify", "--data-dir", str(tmp_path / "nothing")], {})
    assert done.returncode == 2 and "no store" in done.stderr


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(nasty_text.filter(bool))
async def test_any_room_id_is_a_trail_or_a_404(client: Client, room_id: str) -> None:
    resp = await client.get(f"/api/v1/rooms/{quote(room_id, safe='')}/audit", headers=auth())
    assert resp.status == 404, await resp.text()
    assert resp.content_type == "application/problem+json"
