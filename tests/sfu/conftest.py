"""Fixtures for SFU tests: an Sfu on loopback, and clients closed after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sfu_peers import LOOPBACK, PublisherClient, SubscriberClient

from sfu import Sfu, SfuConfig


class Peers:
    """Creates client peers and closes them all at the end of the test."""

    def __init__(self) -> None:
        self.clients: list[PublisherClient | SubscriberClient] = []

    def publisher(self, **kwargs: object) -> PublisherClient:
        client = PublisherClient(**kwargs)  # type: ignore[arg-type]
        self.clients.append(client)
        return client

    def subscriber(self, **kwargs: object) -> SubscriberClient:
        client = SubscriberClient(**kwargs)  # type: ignore[arg-type]
        self.clients.append(client)
        return client

    async def close(self) -> None:
        for client in self.clients:
            await client.close()


@pytest.fixture
async def sfu() -> AsyncIterator[Sfu]:
    router = Sfu(SfuConfig(addresses=LOOPBACK, keyframe_interval=0.3))
    yield router
    await router.close()


@pytest.fixture
async def peers() -> AsyncIterator[Peers]:
    p = Peers()
    yield p
    await p.close()
