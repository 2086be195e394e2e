"""Deliveries to a real receiver on 127.0.0.1, verified with the reference standardwebhooks package:
thin signed payloads, retries with backoff (a fake clock moves them), at-least-once with de-duplication,
410 Gone, the delivery log and manual redelivery."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from rooms.clock import ManualClock
from tests.conftest import auth
from tests.webhooks.conftest import book_now, messages, register, wake
from tests.webhooks.receiver import HANG, Receiver

Client = TestClient[Any, Any]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def settled(client: Client, endpoint_id: str, count: int = 1) -> list[Any]:
    """Wait until the endpoint has *count* messages and none is being sent."""
    for _ in range(500):
        items = await messages(client, endpoint_id)
        if len(items) >= count and all(m["status"] != "sending" and m["attempts"] for m in items):
            return items
        await asyncio.sleep(0.02)
    raise AssertionError(f"messages did not settle: {items}")


async def test_a_booking_is_delivered_thin_and_signed(client: Client, clock: ManualClock, receiver: Receiver) -> None:
    endpoint = await register(client, receiver)
    room = await book_now(client, clock)
    await receiver.until(lambda r: len(r.processed) == 1)
    got = receiver.seen()[0]
    assert got.verified_with == [0]
    assert got.id.startswith("msg_") and got.headers["webhook-timestamp"].isdigit()
    assert got.headers["webhook-signature"].startswith("v1,") and " " not in got.headers["webhook-signature"]
    trail = await (await client.get(f"/api/v1/rooms/{room['id']}/audit", headers=auth())).json()
    entry = trail["entries"][0]
    assert got.payload == {
        "type": "booking.created",
        "timestamp": entry["event"]["at"].replace("+00:00", "Z"),
        "data": {"tenant": "portal", "room_id": room["id"], "participant_id": None, "by": "api", "seq": 1,
                 "audit_hash": entry["hash"], "kind": "consultation", "model": "A2C",
                 "starts_at": entry["event"]["data"]["starts_at"], "ends_at": entry["event"]["data"]["ends_at"],
                 "participants": 2},
    }
    for private in (room["title"], "Jan Kowalski", "dr Anna Nowak", "EOD/2026/123"):
        assert private not in got.body.decode()  # ids and states only
    [message] = await settled(client, endpoint["id"])
    assert message["id"] == got.id and message["status"] == "delivered" and message["next_attempt_at"] is None
    assert message["payload"] == got.payload
    [attempt] = message["attempts"]
    assert attempt["outcome"] == "delivered" and attempt["status_code"] == 204 and attempt["error"] is None
    assert attempt["latency_ms"] > 0


async def test_two_failures_then_success_reach_the_application_once(
        client: Client, clock: ManualClock, receiver: Receiver) -> None:
    receiver.script = [500, 500]
    endpoint = await register(client, receiver)
    await book_now(client, clock)
    bounds = [timedelta(seconds=5), timedelta(seconds=30)]
    for failures, bound in enumerate(bounds, start=1):
        await receiver.until(lambda r, n=failures: len(r.seen()) == n)
        [message] = await settled(client, endpoint["id"])
        assert message["status"] == "pending" and len(message["attempts"]) == failures
        last = message["attempts"][-1]
        assert last["status_code"] == 500 and last["outcome"] == "retry" and last["error"] == "HTTP 500"
        due = at(message["next_attempt_at"])
        assert at(last["at"]) <= due <= at(last["at"]) + bound  # full jitter: anywhere up to the step
        await asyncio.sleep(0.1)
        assert len(receiver.seen()) == failures  # nothing before it is due
        clock.set(due)
        wake(client)
    await receiver.until(lambda r: len(r.seen()) == 3)
    [message] = await settled(client, endpoint["id"])
    assert message["status"] == "delivered"
    assert [a["status_code"] for a in message["attempts"]] == [500, 500, 204]
    seen = receiver.seen()
    assert {r.id for r in seen} == {message["id"]} and all(r.verified_with == [0] for r in seen)
    assert len({r.body for r in seen}) == 1  # the same body every time
    assert list(receiver.processed) == [message["id"]]  # the application saw it once


async def test_410_gone_disables_the_endpoint(client: Client, clock: ManualClock, receiver: Receiver) -> None:
    receiver.script = [410]
    endpoint = await register(client, receiver)
    await book_now(client, clock)
    [message] = await settled(client, endpoint["id"])
    assert message["status"] == "failed" and message["attempts"][0]["outcome"] == "gone"
    shown = await (await client.get(f"/api/v1/webhooks/{endpoint['id']}", headers=auth())).json()
    assert shown["enabled"] is False and "410" in shown["disabled_reason"]
    await book_now(client, clock)  # nothing is queued for a disabled endpoint
    await asyncio.sleep(0.2)
    assert len(await messages(client, endpoint["id"])) == 1 and len(receiver.seen()) == 1
    resp = await client.post(f"/api/v1/webhooks/{endpoint['id']}/test", headers=auth())
    assert resp.status == 409 and resp.content_type == "application/problem+json"


async def test_redelivery_sends_the_same_message_again(client: Client, clock: ManualClock,
                                                       receiver: Receiver) -> None:
    endpoint = await register(client, receiver)
    resp = await client.post(f"/api/v1/webhooks/{endpoint['id']}/test", headers=auth())
    assert resp.status == 202
    queued = await resp.json()
    assert queued["event_type"] == "webhook.test" and queued["payload"]["data"] == {
        "tenant": "portal", "endpoint_id": endpoint["id"]}
    await receiver.until(lambda r: len(r.seen()) == 1)
    await settled(client, endpoint["id"])
    resp = await client.post(f"/api/v1/webhooks/{endpoint['id']}/messages/{queued['id']}/redeliver", headers=auth())
    assert resp.status == 202 and (await resp.json())["status"] == "pending"
    await receiver.until(lambda r: len(r.seen()) == 2)
    assert [r.id for r in receiver.seen()] == [queued["id"]] * 2
    assert list(receiver.processed) == [queued["id"]]
    [message] = await settled(client, endpoint["id"])
    assert [a["outcome"] for a in message["attempts"]] == ["delivered", "delivered"]


async def test_at_most_four_attempts_run_at_once_per_endpoint(client: Client, clock: ManualClock,
                                                              receiver: Receiver) -> None:
    receiver.script = [HANG] * 6
    endpoint = await register(client, receiver)
    queued = []
    for _ in range(6):
        resp = await client.post(f"/api/v1/webhooks/{endpoint['id']}/test", headers=auth())
        queued.append((await resp.json())["id"])
    await receiver.until(lambda r: len(r.seen()) == 4)
    await asyncio.sleep(0.3)
    assert [r.id for r in receiver.seen()] == queued[:4]  # in order, four at a time
    resp = await client.post(f"/api/v1/webhooks/{endpoint['id']}/messages/{queued[0]}/redeliver", headers=auth())
    assert resp.status == 409  # an attempt is under way
    receiver.release()  # the held ones answer 503; the other two go out as places free up
    await receiver.until(lambda r: len(r.seen()) == 6)
    assert [r.id for r in receiver.seen()][4:] == queued[4:]
