"""Shared by the pre-call check tests: a consultation open now, its people's tokens, a good result."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from rooms.booking import Bookings
from rooms.clock import ManualClock
from rooms.requests import parse_booking
from rooms.sqlite_store import SqliteRoomStore
from tests.conftest import NOW, book, booking

Client = TestClient[Any, Any]
PROBLEM = "application/problem+json"
GOOD = {"camera": True, "microphone": True, "speaker": True, "rtt_ms": 42, "upstream_kbps": 2400}


async def open_visit(client: Client, tenant: str = "portal") -> dict[str, Any]:
    """A consultation whose join window is open at the test clock's NOW: host doctor, citizen patient."""
    return await book(client, tenant, starts_at=(NOW + timedelta(minutes=5)).isoformat(),
                      ends_at=(NOW + timedelta(minutes=35)).isoformat())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def problem(resp: Any, status: int) -> dict[str, Any]:
    """The problem+json body of *resp*, which must have *status*."""
    assert resp.status == status, await resp.text()
    assert resp.content_type == PROBLEM
    body: dict[str, Any] = await resp.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


async def seed_room(store: SqliteRoomStore) -> tuple[str, str]:
    """Book the usual consultation straight into *store*; return its id and the patient's."""
    stored = await Bookings(store, ManualClock(NOW)).book("portal", parse_booking(booking()), None)
    return stored.value.id, stored.value.participants[1].id
