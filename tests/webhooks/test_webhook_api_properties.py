"""Property tests of the webhook API: any body, query or id is a success or a 4xx problem, never a 500,
and a refusal changes nothing (the tenant's endpoints are what they were).

Like tests/api/test_bad_input_properties.py, the examples share one node. Its clock is the real time's,
it refuses private destinations (the default) and sends nothing (KONSYLIUM_WEBHOOKS_DELIVER=false): the
URLs drawn name literal addresses, ``localhost`` or names under ``.invalid``, so no example makes the
node ask DNS or connect anywhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from konsylium.app import create_app, runner_options
from konsylium.settings import Settings
from rooms.clock import ManualClock
from rooms.events import EVENT_TYPES
from tests.api.test_bad_input_properties import path_ids, raw_bodies, refused
from tests.conftest import KEYS, SECRET, ClientFactory, auth
from tests.strategies import json_values, nasty_text

Client = TestClient[Any, Any]
FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
HOOKS = "/api/v1/webhooks"

hosts = st.sampled_from(["8.8.8.8", "93.184.215.14", "[2606:4700::1111]", "127.0.0.1", "10.0.0.1", "[::1]",
                         "169.254.169.254", "[fd00:ec2::254]", "localhost", "hooks.example.invalid",
                         "xn--bcher-kva.example.invalid", "0.0.0.0", "[::ffff:127.0.0.1]", "2130706433"])
urls = st.builds(lambda scheme, user, host, port, path: f"{scheme}://{user}{host}{port}{path}",
                 st.sampled_from(["http", "https", "HTTPS", "ftp", "javascript", ""]),
                 st.sampled_from(["", "user:pass@", "@"]), hosts,
                 st.sampled_from(["", ":443", ":0", ":65536", ":x", ":8080"]),
                 st.one_of(st.just("/hooks"), nasty_text.map(lambda t: "/" + t)))
event_types = st.one_of(st.none(), st.lists(st.sampled_from(sorted(EVENT_TYPES)) | nasty_text, max_size=4),
                        json_values)


@pytest.fixture
async def quiet(aiohttp_client: ClientFactory, tmp_path: Path) -> AsyncIterator[Client]:
    settings_ = Settings(port=8080, public_url_override="https://video.example.org", data_dir=tmp_path,
                         api_keys=KEYS, secret=SECRET, workers=0, webhooks_deliver=False)
    server = TestServer(create_app(settings_, ManualClock(datetime.now(UTC).replace(microsecond=0))))
    await server.start_server(**runner_options())
    yield await aiohttp_client(server)


async def endpoints(client: Client) -> list[Any]:
    resp = await client.get(HOOKS, headers=auth())
    assert resp.status == 200
    items: list[Any] = (await resp.json())["items"]
    return items


@FAST
@given(data=st.data())
async def test_any_endpoint_body(quiet: Client, data: st.DataObject) -> None:
    base = {"url": data.draw(urls), "event_types": data.draw(event_types)}
    body = data.draw(st.one_of(st.just(base), raw_bodies(base)))
    before = await endpoints(quiet)
    if isinstance(body, dict):
        resp = await quiet.post(HOOKS, json=body, headers=auth())
    else:
        resp = await quiet.post(HOOKS, data=body, headers=auth() | {"Content-Type": "application/json"})
    after = await endpoints(quiet)
    if await refused(resp):
        assert after == before
    else:
        assert resp.status == 201
        created = await resp.json()
        assert created["secret"].startswith("whsec_")
        assert [e for e in after if e["id"] != created["id"]] == before and len(after) == len(before) + 1
        assert (await quiet.delete(f"{HOOKS}/{created['id']}", headers=auth())).status == 204


@FAST
@given(webhook_id=path_ids, message_id=path_ids, query=st.dictionaries(
    st.sampled_from(["status", "limit", "cursor", "x"]),
    nasty_text.filter(lambda t: not any("\ud800" <= c <= "\udfff" for c in t)), max_size=3))
async def test_odd_ids_and_queries(quiet: Client, webhook_id: str, message_id: str, query: dict[str, str]) -> None:
    before = await endpoints(quiet)
    one = f"{HOOKS}/{webhook_id}"
    for method, path in [("GET", one), ("DELETE", one), ("POST", f"{one}/rotate-secret"), ("POST", f"{one}/test"),
                         ("GET", f"{one}/messages?{'&'.join(f'{k}={quote(v)}' for k, v in query.items())}"),
                         ("GET", f"{one}/messages/{message_id}"), ("POST", f"{one}/messages/{message_id}/redeliver")]:
        resp = await quiet.request(method, path, headers=auth())
        assert await refused(resp), (method, path)
    assert await endpoints(quiet) == before
