"""What the real server acknowledged survives ``kill -9``: bookings (201), admission decisions."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.processes import server
from tests.signalling.clients import Client, until

KEY = "k-durability-0123456789"
ENV = {"KONSYLIUM_API_KEYS": f"portal={KEY}", "KONSYLIUM_SECRET": "s" * 40,
       "KONSYLIUM_PUBLIC_URL": "https://video.example.org"}


def call(url: str, method: str = "GET", body: Any = None, token: str = KEY) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as resp:
        return resp.status, json.load(resp)


def test_booking_survives_kill_9(tmp_path: Path) -> None:
    env = {**ENV, "KONSYLIUM_DATA_DIR": str(tmp_path)}
    start = datetime.now(UTC) + timedelta(minutes=5)
    body = {
        "title": "Sesja rady gminy", "kind": "council_session", "model": "A2A",
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(),
        "participants": [{"display_name": "Przewodnicząca", "role": "host",
                          "party": "administration"}],
    }
    booked = []
    with server(env, tmp_path / "run1.log", kill=True) as node:
        for _ in range(20):
            status, room = call(f"{node.url}/api/v1/rooms", "POST", body)
            assert status == 201
            booked.append(room)
    # The context manager sent SIGKILL: no shutdown hook ran.
    with server(env, tmp_path / "run2.log") as node:
        for room in booked:
            status, again = call(f"{node.url}/api/v1/rooms/{room['id']}")
            assert status == 200 and again == room
        token = booked[-1]["participants"][0]["token"]
        join = urllib.request.urlopen(f"{node.url}/join/{booked[-1]['id']}?t={token}")
        assert join.status == 200  # the token still verifies after the restart


async def test_an_admission_survives_kill_9(tmp_path: Path) -> None:
    """A host's admit in a media worker (the record crosses the worker link to the front's store) and the
    integrator's deny: both on the participant resource after ``kill -9`` and a restart."""
    env = {**ENV, "KONSYLIUM_DATA_DIR": str(tmp_path), "KONSYLIUM_WORKERS": "2"}
    start = datetime.now(UTC) - timedelta(minutes=5)
    body = {
        "title": "Konsultacja", "kind": "consultation", "model": "A2C",
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
        "participants": [{"display_name": "dr Anna Nowak", "role": "host", "party": "administration"},
                         {"display_name": "Jan Kowalski", "role": "member", "party": "citizen"},
                         {"display_name": "Ewa Nowa", "role": "member", "party": "citizen"}],
    }
    with server(env, tmp_path / "run1.log", kill=True) as node:
        _, room = call(f"{node.url}/api/v1/rooms", "POST", body)
        host_p, citizen_p, other_p = room["participants"]
        people = [Client(node.url, p["token"]) for p in room["participants"]]
        try:
            for person in people:
                await person.connect()
            assert await people[0].sio.call("admit", {"participant_id": citizen_p["id"]}) == {"ok": True}
            request = urllib.request.Request(
                f"{node.url}/api/v1/rooms/{room['id']}/participants/{other_p['id']}/deny", method="POST",
                headers={"Authorization": f"Bearer {KEY}"})
            with urllib.request.urlopen(request) as resp:
                assert resp.status == 204
            await until(lambda: all(p["admission"] for p in call(f"{node.url}/api/v1/rooms/{room['id']}")[1]
                                    ["participants"][1:]), what="both decisions stored")
        finally:
            for person in people:
                await person.close()
    with server(env, tmp_path / "run2.log") as node:
        _, again = call(f"{node.url}/api/v1/rooms/{room['id']}")
        admissions = [(p["admission"] or {}).get("outcome") for p in again["participants"]]
        assert admissions == [None, "admitted", "denied"]
        assert again["participants"][1]["admission"]["by"] == host_p["id"]
        assert again["participants"][2]["admission"]["by"] == "api"
