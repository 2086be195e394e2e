"""Health, readiness, metrics, and logs that never carry names or tokens (CONTRACT.md §6)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from konsylium.app import NODE
from tests.conftest import auth, book

Client = TestClient[Any, Any]


async def test_healthz_and_readyz(client: Client) -> None:
    assert await (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status == 200
    assert (await ready.json())["store"] == "ok"


async def test_readyz_fails_when_the_store_is_gone(client: Client) -> None:
    await client.app[NODE].store.close()
    resp = await client.get("/readyz")
    assert resp.status == 503 and resp.content_type == "application/problem+json"
    await client.app[NODE].store.open()


async def test_metrics_count_rooms_requests_and_errors(client: Client) -> None:
    await book(client)
    await client.get("/api/v1/rooms/unknown", headers=auth())
    text = await (await client.get("/metrics")).text()
    assert 'konsylium_rooms{state="scheduled"} 1.0' in text
    assert 'konsylium_participants{state="invited"} 2.0' in text
    assert 'konsylium_participants{state="connected"} 0.0' in text
    assert "konsylium_forwarded_packets_total 0.0" in text
    assert "konsylium_forwarded_bytes_total 0.0" in text
    assert 'route="/api/v1/rooms/{room_id}",status="404"' in text
    assert 'konsylium_errors_total{kind="http_4xx"} 1.0' in text
    assert "konsylium_signalling_messages" in text
    assert "unknown" not in text  # labels carry route templates, never ids from paths


async def test_logs_never_carry_names_or_tokens(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    name = "Zenobia Przybyszewska-Ostoja"
    room = await book(
        client,
        participants=[{"display_name": name, "role": "host", "party": "administration"}],
        title="Konsultacja onkologiczna Zenobii",
    )
    token = room["participants"][0]["token"]
    await client.get(f"/join/{room['id']}?t={token}")
    await client.get(f"/join/{room['id']}?t={token}x")
    await client.get(f"/api/v1/rooms/{room['id']}", headers=auth())
    await client.post("/api/v1/rooms", json={"title": name}, headers=auth())
    logged = caplog.text
    assert room["id"] in logged  # ids are what we log
    for secret in (name, "Zenobi", "onkologiczna", token, token[-20:]):
        assert secret not in logged


def test_server_log_carries_no_names_or_tokens(tmp_path: Any) -> None:
    """The same for the real process: its access log drops query strings."""
    import json
    import urllib.request
    from datetime import UTC, datetime, timedelta

    from tests.processes import server

    key = "k-ops-0123456789"
    env = {"KONSYLIUM_DATA_DIR": str(tmp_path), "KONSYLIUM_API_KEYS": f"t={key}",
           "KONSYLIUM_LOG_LEVEL": "debug"}
    name = "Bolesława Wierzbięta"
    start = datetime.now(UTC)
    with server(env, tmp_path / "s.log") as node:
        body = json.dumps({
            "title": "Wizyta", "kind": "consultation", "model": "A2C",
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(minutes=20)).isoformat(),
            "participants": [{"display_name": name, "role": "member", "party": "citizen"}],
        }).encode()
        request = urllib.request.Request(
            f"{node.url}/api/v1/rooms", data=body, method="POST",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request) as resp:
            room = json.load(resp)
        token = room["participants"][0]["token"]
        with urllib.request.urlopen(room["participants"][0]["join_url"]) as page:
            assert page.status == 200
    log = node.log()
    assert room["id"] in log and "GET /join/" in log
    assert name not in log and token not in log and key not in log
