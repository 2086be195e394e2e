"""Private destinations are refused at registration and again at send time (the address resolved then),
unless KONSYLIUM_WEBHOOKS_ALLOW_PRIVATE allows them; metadata, multicast and unspecified never."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from konsylium.app import NODE, create_app, runner_options
from konsylium.settings import Settings
from rooms.clock import ManualClock
from rooms.webhooks.destinations import DestinationRefused, check_destination, refusal
from rooms.webhooks.store import WebhookStore
from tests.conftest import KEYS, SECRET, ClientFactory, auth
from tests.webhooks.conftest import book_now, messages
from tests.webhooks.receiver import Receiver

Client = TestClient[Any, Any]

REFUSED = {
    "127.0.0.1": "loopback", "127.8.9.10": "loopback", "::1": "loopback", "10.1.2.3": "private",
    "172.16.0.1": "private", "192.168.1.1": "private", "fd12:3456::1": "private", "169.254.10.1": "link-local",
    "fe80::1": "link-local", "169.254.169.254": "metadata", "fd00:ec2::254": "metadata", "224.0.0.1": "multicast",
    "ff02::1": "multicast", "0.0.0.0": "unspecified", "::": "unspecified", "::ffff:127.0.0.1": "loopback",
    "::ffff:10.0.0.1": "private", "100.64.0.1": "reserved",
    "192.0.2.1": "private",  # documentation (TEST-NET-1): "private" to Python
}


@pytest.mark.parametrize("address", sorted(REFUSED))
def test_non_public_addresses_are_refused(address: str) -> None:
    why = refusal(address, allow_private=False)
    assert why is not None and REFUSED[address] in why


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "224.0.0.1", "0.0.0.0", "::"])
def test_metadata_multicast_and_unspecified_stay_refused_when_private_is_allowed(address: str) -> None:
    assert refusal(address, allow_private=True) is not None


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.1.2.3", "192.168.1.1", "fd12::1", "fe80::1"])
def test_the_setting_allows_loopback_private_and_link_local(address: str) -> None:
    assert refusal(address, allow_private=True) is None


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(address, allow_private=False) is None


async def test_a_name_is_judged_by_what_it_resolves_to() -> None:
    async def resolves_to(*addresses: str) -> Any:
        async def resolve(host: str) -> list[str]:
            return list(addresses)
        return resolve

    await check_destination(URL("https://hooks.example.org/x"), False, await resolves_to("93.184.215.14"))
    with pytest.raises(DestinationRefused, match="private"):  # any refused address refuses the name
        await check_destination(URL("https://hooks.example.org/x"), False,
                                await resolves_to("93.184.215.14", "10.0.0.7"))

    async def nothing(host: str) -> list[str]:
        raise OSError("no such name")

    await check_destination(URL("https://not-yet.example.org/x"), False, nothing)  # checked again when sent
    with pytest.raises(DestinationRefused, match="loopback"):
        await check_destination(URL("http://app.localhost:8080/x"), False, nothing)


@pytest.fixture
async def strict(aiohttp_client: ClientFactory, tmp_path: Path) -> AsyncIterator[Client]:
    """A node with the default rule: no private destinations."""
    settings = Settings(port=8080, public_url_override="https://video.example.org", data_dir=tmp_path,
                        api_keys=KEYS, secret=SECRET, workers=0)
    server = TestServer(create_app(settings, ManualClock(datetime.now(UTC).replace(microsecond=0))))
    await server.start_server(**runner_options())
    yield await aiohttp_client(server)


@pytest.mark.parametrize("url", [
    "http://localhost:9/hooks", "http://LOCALHOST./hooks", "http://127.0.0.1/hooks", "http://[::1]:8080/",
    "https://10.0.0.8/hooks", "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/",
    "http://[::ffff:127.0.0.1]/", "http://192.168.0.10:8443/x", "http://224.0.0.1/", "http://0.0.0.0:80/",
])
async def test_registration_refuses_private_destinations(strict: Client, url: str) -> None:
    resp = await strict.post("/api/v1/webhooks", json={"url": url}, headers=auth())
    assert resp.status == 422, await resp.text()
    problem = await resp.json()
    assert resp.content_type == "application/problem+json"
    assert problem["type"] == "urn:konsylium:problem:forbidden-destination"
    assert [e["pointer"] for e in problem["errors"]] == ["/url"]
    assert (await (await strict.get("/api/v1/webhooks", headers=auth())).json())["items"] == []


async def test_metadata_is_refused_even_when_private_is_allowed(client: Client) -> None:
    resp = await client.post("/api/v1/webhooks", json={"url": "http://169.254.169.254/"}, headers=auth())
    assert resp.status == 422 and "metadata" in (await resp.json())["errors"][0]["detail"]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
async def test_sending_refuses_a_destination_that_became_private(strict: Client, receiver: Receiver,
                                                                 host: str) -> None:
    """An endpoint stored as it was registered (say its name resolved to a public address then) whose
    host now resolves to loopback: the dispatcher checks the address it would connect to, and refuses."""
    node = strict.server.app[NODE]
    url = receiver.url.replace("127.0.0.1", host)
    endpoint = await WebhookStore(node.store).create("portal", url, None, node.clock.now())
    await book_now(strict, node.clock)
    for _ in range(200):
        items = await messages(strict, endpoint.id)
        if items and items[0]["attempts"]:
            break
        await asyncio.sleep(0.02)
    [message] = items
    [attempt] = message["attempts"]
    assert attempt["outcome"] == "retry" and attempt["status_code"] is None
    assert attempt["error"].startswith("destination refused") and "loopback" in attempt["error"]
    assert message["status"] == "pending"
    assert receiver.seen() == []  # no connection was made
