"""Shared fixtures: a node built inline per test on a real SQLite file in tmp_path."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import settings as hypothesis_settings

from konsylium.app import create_app, runner_options
from konsylium.settings import Settings
from rooms.clock import ManualClock

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
KEYS = {"portal": "key-portal-0123456789abcdef", "clinic": "key-clinic-0123456789abcdef"}
SECRET = b"test-secret-of-at-least-32-bytes-long!!"

# Property tests are reproducible in CI: the same examples on every run, no example database
# (a failure prints its reproduction blob). HYPOTHESIS_PROFILE=explore searches wider, randomly.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
hypothesis_settings.register_profile("explore", max_examples=2_000, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


def auth(tenant: str = "portal") -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[tenant]}"}


def booking(**overrides: Any) -> dict[str, Any]:
    """A valid consultation booking starting an hour after NOW."""
    body: dict[str, Any] = {
        "title": "Konsultacja kardiologiczna",
        "kind": "consultation",
        "model": "A2C",
        "starts_at": (NOW + timedelta(hours=1)).isoformat(),
        "ends_at": (NOW + timedelta(hours=1, minutes=30)).isoformat(),
        "external_ref": "EOD/2026/123",
        "participants": [
            {"display_name": "dr Anna Nowak", "role": "host", "party": "administration"},
            {"display_name": "Jan Kowalski", "role": "member", "party": "citizen"},
        ],
    }
    body.update(overrides)
    return body


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        port=8080,
        public_url_override="https://video.example.org",
        data_dir=tmp_path,
        api_keys=KEYS,
        secret=SECRET,
        workers=0,
    )


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, settings: Settings, clock: ManualClock
) -> TestClient[Any, Any]:
    server = TestServer(create_app(settings, clock))
    await server.start_server(**runner_options())  # the same access log as production
    return await aiohttp_client(server)


async def book(client: TestClient[Any, Any], tenant: str = "portal", **overrides: Any) -> Any:
    """Book a room and return its JSON, failing the test unless the answer is 201."""
    resp = await client.post("/api/v1/rooms", json=booking(**overrides), headers=auth(tenant))
    assert resp.status == 201, await resp.text()
    return await resp.json()


def claims_of(token: str) -> dict[str, Any]:
    """Decode a join token with the test secret, ignoring the real wall clock."""
    import jwt

    options = {"verify_nbf": False, "verify_iat": False, "verify_exp": False}
    return jwt.decode(token, SECRET, algorithms=["HS256"], options=options)  # type: ignore[no-any-return]
