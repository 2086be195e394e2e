"""A booking acknowledged with 201 survives ``kill -9`` of the real server."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.processes import server

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
