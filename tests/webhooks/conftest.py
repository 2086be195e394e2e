"""Webhook tests: a node whose clock starts at the real time (receivers check signatures' timestamps
against their own clock), allowed to call loopback receivers, and a receiver per test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from konsylium.app import NODE
from konsylium.settings import Settings
from rooms.clock import ManualClock
from tests.conftest import KEYS, SECRET, auth, booking
from tests.webhooks.receiver import Receiver

Client = TestClient[Any, Any]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(port=8080, public_url_override="https://video.example.org", data_dir=tmp_path, api_keys=KEYS,
                    secret=SECRET, workers=0, webhooks_allow_private=True,
                    webhooks_process=False)  # the manual clock drives retries: delivery on this loop


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    got = Receiver().start()
    yield got
    got.stop()


def booking_at(clock: ManualClock, **overrides: Any) -> dict[str, Any]:
    """A valid booking starting an hour after the clock's now."""
    now = clock.now()
    return booking(starts_at=(now + timedelta(hours=1)).isoformat(),
                   ends_at=(now + timedelta(hours=1, minutes=30)).isoformat(), **overrides)


async def book_now(client: Client, clock: ManualClock, tenant: str = "portal") -> Any:
    resp = await client.post("/api/v1/rooms", json=booking_at(clock), headers=auth(tenant))
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def register(client: Client, receiver: Receiver, tenant: str = "portal", **fields: Any) -> Any:
    """Register *receiver* as an endpoint; give it the secret; return the answer."""
    resp = await client.post("/api/v1/webhooks", json={"url": receiver.url, **fields}, headers=auth(tenant))
    assert resp.status == 201, await resp.text()
    endpoint = await resp.json()
    receiver.secrets.append(endpoint["secret"])
    return endpoint


async def messages(client: Client, endpoint_id: str, tenant: str = "portal") -> list[Any]:
    resp = await client.get(f"/api/v1/webhooks/{endpoint_id}/messages", headers=auth(tenant))
    assert resp.status == 200, await resp.text()
    items: list[Any] = (await resp.json())["items"]
    return items


def wake(client: Client) -> None:
    """Ask the node's dispatcher to look at the outbox now (after moving the clock)."""
    client.server.app[NODE].webhooks.wake()
