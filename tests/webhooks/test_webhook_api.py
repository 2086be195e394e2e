"""The webhook API: endpoints per tenant, the secret shown twice only, event type filters, the delivery
log (filters, pages), problem+json for every refusal, and the outbox in /metrics."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from rooms.clock import ManualClock
from rooms.events import EVENT_TYPES
from rooms.webhooks.store import MAX_ENDPOINTS
from tests.conftest import auth
from tests.webhooks.conftest import book_now, messages, register
from tests.webhooks.receiver import Receiver

Client = TestClient[Any, Any]
HOOKS = "/api/v1/webhooks"


async def test_create_list_get_delete(client: Client, receiver: Receiver) -> None:
    resp = await client.post(HOOKS, json={"url": receiver.url, "event_types": ["booking.created"], "note": "x"},
                             headers=auth())
    assert resp.status == 201
    created = await resp.json()
    assert resp.headers["Location"] == f"https://video.example.org{HOOKS}/{created['id']}"
    assert created["id"].startswith("ep_") and created["secret"].startswith("whsec_")
    assert created["url"] == receiver.url and created["event_types"] == ["booking.created"]
    assert created["enabled"] is True and created["disabled_reason"] is None
    one = await (await client.get(f"{HOOKS}/{created['id']}", headers=auth())).json()
    assert one == {k: v for k, v in created.items() if k != "secret"}
    listed = await (await client.get(HOOKS, headers=auth())).json()
    assert listed == {"items": [one]}
    assert (await (await client.get(HOOKS, headers=auth("clinic"))).json()) == {"items": []}
    for method, path in [("GET", ""), ("DELETE", ""), ("POST", "/rotate-secret"), ("POST", "/test"),
                         ("GET", "/messages")]:
        resp = await client.request(method, f"{HOOKS}/{created['id']}{path}", headers=auth("clinic"))
        assert resp.status == 404 and resp.content_type == "application/problem+json"  # another tenant's
    assert (await client.delete(f"{HOOKS}/{created['id']}", headers=auth())).status == 204
    assert (await client.get(f"{HOOKS}/{created['id']}", headers=auth())).status == 404
    assert (await client.delete(f"{HOOKS}/{created['id']}", headers=auth())).status == 404


async def test_an_endpoint_hears_only_the_types_it_asked_for(client: Client, clock: ManualClock,
                                                            receiver: Receiver) -> None:
    endpoint = await register(client, receiver, event_types=["participant.added"])
    everything = await register(client, receiver, tenant="portal")
    other_tenant = await register(client, receiver, tenant="clinic")
    room = await book_now(client, clock)
    resp = await client.post(f"/api/v1/rooms/{room['id']}/participants", headers=auth(),
                             json={"display_name": "Tłumacz", "role": "member", "party": "administration"})
    assert resp.status == 201
    await receiver.until(lambda r: len(r.processed) == 3)
    assert [m["event_type"] for m in await messages(client, endpoint["id"])] == ["participant.added"]
    assert [m["event_type"] for m in await messages(client, everything["id"])] == ["participant.added",
                                                                                  "booking.created"]
    assert await messages(client, other_tenant["id"], tenant="clinic") == []
    added = next(m for m in receiver.processed.values() if m["type"] == "participant.added")
    assert added["data"]["seq"] == 2 and added["data"]["role"] == "member"
    assert added["data"]["participant_id"] == (await resp.json())["id"]


@pytest.mark.parametrize(("body", "pointers"), [
    ({}, ["/url"]),
    ({"url": "ftp://hooks.example.org/"}, ["/url"]),
    ({"url": "hooks.example.org/x"}, ["/url"]),
    ({"url": "https://hooks.example.org/x#frag"}, ["/url"]),
    ({"url": "https://hooks.example.org:99999/"}, ["/url"]),
    ({"url": "https://hooks example.org/"}, ["/url"]),
    ({"url": 7, "event_types": []}, ["/url", "/event_types"]),
    ({"url": "https://a.invalid/", "event_types": ["booking.created", "no.such", 3]},
     ["/event_types/1", "/event_types/2"]),
    ({"url": "https://a.invalid/", "event_types": "booking.created"}, ["/event_types"]),
    ([], [""]),
])
async def test_bad_bodies_name_every_bad_field(client: Client, body: Any, pointers: list[str]) -> None:
    resp = await client.post(HOOKS, json=body, headers=auth())
    assert resp.status == 422 and resp.content_type == "application/problem+json"
    assert [e["pointer"] for e in (await resp.json())["errors"]] == pointers
    assert (await (await client.get(HOOKS, headers=auth())).json()) == {"items": []}


async def test_unknown_urls_under_invalid_are_accepted_and_every_type_is_known(client: Client) -> None:
    resp = await client.post(HOOKS, json={"url": "https://hooks.example.invalid/k",
                                          "event_types": sorted(EVENT_TYPES)}, headers=auth())
    assert resp.status == 201 and "webhook.test" in (await resp.json())["event_types"]


async def test_a_tenant_has_at_most_its_share_of_endpoints(client: Client) -> None:
    for n in range(MAX_ENDPOINTS):
        assert (await client.post(HOOKS, json={"url": f"https://h{n}.example.invalid/"}, headers=auth())).status == 201
    resp = await client.post(HOOKS, json={"url": "https://one-more.example.invalid/"}, headers=auth())
    assert resp.status == 409 and resp.content_type == "application/problem+json"
    assert (await client.post(HOOKS, json={"url": "https://x.example.invalid/"}, headers=auth("clinic"))).status == 201


async def test_the_delivery_log_pages_and_filters(client: Client, clock: ManualClock, receiver: Receiver) -> None:
    endpoint = await register(client, receiver)
    for _ in range(3):
        assert (await client.post(f"{HOOKS}/{endpoint['id']}/test", headers=auth())).status == 202
    await receiver.until(lambda r: len(r.processed) == 3)
    for _ in range(100):
        if all(m["status"] == "delivered" for m in await messages(client, endpoint["id"])):
            break
        await asyncio.sleep(0.02)
    everything = await messages(client, endpoint["id"])
    page = await (await client.get(f"{HOOKS}/{endpoint['id']}/messages?limit=2", headers=auth())).json()
    assert [m["id"] for m in page["items"]] == [m["id"] for m in everything[:2]]
    rest = await (await client.get(f"{HOOKS}/{endpoint['id']}/messages",
                                   params={"cursor": page["next_cursor"]}, headers=auth())).json()
    assert [m["id"] for m in rest["items"]] == [everything[2]["id"]] and rest["next_cursor"] is None
    assert list(receiver.processed)[::-1] == [m["id"] for m in everything]  # newest first
    pending = await (await client.get(f"{HOOKS}/{endpoint['id']}/messages?status=pending", headers=auth())).json()
    assert pending["items"] == []
    one = await (await client.get(f"{HOOKS}/{endpoint['id']}/messages/{everything[0]['id']}", headers=auth())).json()
    assert one == everything[0]
    for query in ("status=lost", "limit=0", "limit=201", "limit=٣", "cursor=nope"):
        resp = await client.get(f"{HOOKS}/{endpoint['id']}/messages?{query}", headers=auth())
        assert resp.status == 422 and resp.content_type == "application/problem+json", query
    for path in (f"messages/{everything[0]['id']}x", "messages/msg_0/redeliver"):
        resp = await client.request("GET" if "redeliver" not in path else "POST", f"{HOOKS}/{endpoint['id']}/{path}",
                                    headers=auth())
        assert resp.status == 404


async def test_metrics_count_deliveries_and_the_outbox(client: Client, clock: ManualClock,
                                                       receiver: Receiver) -> None:
    receiver.script = [503, 503, 503]  # pending, whenever the dispatcher looks again
    await register(client, receiver)
    await book_now(client, clock)
    await receiver.until(lambda r: len(r.seen()) == 1)
    for _ in range(100):
        text = await (await client.get("/metrics")).text()
        if 'konsylium_webhook_deliveries_total{outcome="retry"} 1.0' in text:
            break
        await asyncio.sleep(0.02)
    assert 'konsylium_webhook_deliveries_total{outcome="retry"} 1.0' in text
    assert "konsylium_webhook_outbox_pending 1.0" in text
    assert "konsylium_webhook_outbox_oldest_pending_seconds 0.0" in text
    clock.advance(timedelta(seconds=90))
    text = await (await client.get("/metrics")).text()
    assert "konsylium_webhook_outbox_oldest_pending_seconds 90.0" in text
