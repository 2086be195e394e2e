"""At least once across a crash: the real server is killed with ``kill -9`` while its first attempt is in
flight (the receiver holds the request); after the restart the message arrives, and the application behind
the receiver sees it once."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.processes import server
from tests.webhooks.receiver import HANG, Receiver

KEY = "k-webhooks-0123456789"
ENV = {"KONSYLIUM_API_KEYS": f"portal={KEY}", "KONSYLIUM_SECRET": "s" * 40, "KONSYLIUM_WORKERS": "0",
       "KONSYLIUM_WEBHOOKS_ALLOW_PRIVATE": "true"}


def call(url: str, method: str = "GET", body: Any = None) -> Any:
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), method=method,
                                     headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.load(resp)


def test_a_message_in_flight_at_kill_9_is_delivered_after_restart(tmp_path: Path) -> None:
    env = {**ENV, "KONSYLIUM_DATA_DIR": str(tmp_path)}
    receiver = Receiver(script=[HANG]).start()
    try:
        with server(env, tmp_path / "run1.log", kill=True) as node:
            endpoint = call(f"{node.url}/api/v1/webhooks", "POST", {"url": receiver.url})
            receiver.secrets.append(endpoint["secret"])
            start = datetime.now(UTC) + timedelta(minutes=5)
            room = call(f"{node.url}/api/v1/rooms", "POST", {
                "title": "Sesja rady gminy", "kind": "council_session", "model": "A2A",
                "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat()})
            receiver.wait(lambda r: len(r.seen()) == 1)  # the first attempt is held: in flight
        # SIGKILL: no shutdown hook ran, the message is still "sending" in the store.
        assert receiver.processed == {}
        with server(env, tmp_path / "run2.log") as node:
            receiver.wait(lambda r: len(r.processed) == 1)
            page = call(f"{node.url}/api/v1/webhooks/{endpoint['id']}/messages")
            log = node.log()
        [message] = page["items"]
        assert message["status"] == "delivered"
        assert [a["outcome"] for a in message["attempts"]] == ["interrupted", "delivered"]
        seen = receiver.seen()
        assert [r.id for r in seen] == [message["id"]] * 2 and all(r.verified_with == [0] for r in seen)
        assert list(receiver.processed) == [message["id"]]
        assert receiver.processed[message["id"]]["data"]["room_id"] == room["id"]
        assert "interrupted by a stop are due again count=1" in log
        assert receiver.url not in log and endpoint["secret"] not in log  # ids only in the log
    finally:
        receiver.stop()


def test_a_queued_message_survives_kill_9(tmp_path: Path) -> None:
    """Queued while deliveries were off, the node killed: the next start delivers it."""
    env = {**ENV, "KONSYLIUM_DATA_DIR": str(tmp_path)}
    receiver = Receiver().start()
    try:
        with server({**env, "KONSYLIUM_WEBHOOKS_DELIVER": "false"}, tmp_path / "run1.log", kill=True) as node:
            endpoint = call(f"{node.url}/api/v1/webhooks", "POST", {"url": receiver.url})
            receiver.secrets.append(endpoint["secret"])
            queued = call(f"{node.url}/api/v1/webhooks/{endpoint['id']}/test", "POST")
        assert receiver.seen() == []
        with server(env, tmp_path / "run2.log"):
            receiver.wait(lambda r: len(r.processed) == 1)
        assert list(receiver.processed) == [queued["id"]] and receiver.seen()[0].verified_with == [0]
    finally:
        receiver.stop()
