"""A node on a real loopback port, booked rooms, and Socket.IO + aiortc clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from konsylium.app import NODE, Node, create_app, runner_options
from konsylium.settings import MediaAddress, Settings
from signalling.workflow import Workflow
from tests.conftest import KEYS, SECRET, auth
from tests.processes import free_port
from tests.signalling.clients import Client
from tests.signalling.fakes import FakeEvents
from tests.signalling.world import World, build_world


@dataclass
class LiveNode:
    url: str
    app: web.Application
    clients: list[Client]

    @property
    def node(self) -> Node:
        return self.app[NODE]

    async def book(self, *people: tuple[str, str, str], model: str = "A2A", **extra: Any) -> dict[str, Any]:
        """Book a room open now; *people* are (name, role, party)."""
        start = datetime.now(UTC) - timedelta(minutes=5)
        body = {
            "title": "Test room", "kind": "meeting", "model": model,
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
            "participants": [{"display_name": n, "role": r, "party": p} for n, r, p in people],
            **extra,
        }
        async with aiohttp.ClientSession() as http, http.post(
            f"{self.url}/api/v1/rooms", json=body, headers=auth()
        ) as resp:
            assert resp.status == 201, await resp.text()
            room: dict[str, Any] = await resp.json()
            return room

    async def connected(self, room_id: str) -> list[str]:
        """Ids of the participants connected now, from the public ``/live`` endpoint."""
        async with aiohttp.ClientSession() as http, http.get(
            f"{self.url}/api/v1/rooms/{room_id}/live", headers=auth()
        ) as resp:
            assert resp.status == 200
            return [p["id"] for p in (await resp.json())["participants"]]

    async def settled_totals(self) -> Any:
        """The media totals once workers have reported them (they report every second)."""
        if self.node.settings.workers:
            await asyncio.sleep(1.2)
        return self.node.rooms.totals()

    def client(self, token: str) -> Client:
        client = Client(self.url, token)
        self.clients.append(client)
        return client


@asynccontextmanager
async def running_node(
    tmp_path: Path, workers: int, media_addresses: tuple[MediaAddress, ...] | None = None,
    workflows: Sequence[Workflow] = (), **overrides: Any
) -> AsyncIterator[LiveNode]:
    port = free_port()
    settings = Settings(
        port=port, data_dir=tmp_path, api_keys=KEYS, secret=SECRET,
        media_addresses=media_addresses or (MediaAddress("127.0.0.1"),), reconnect_grace=1.5,
        workers=workers, **overrides,
    )
    app = create_app(settings, workflows=workflows)
    server = TestServer(app, port=port)
    await server.start_server(**runner_options())
    node = LiveNode(f"http://127.0.0.1:{port}", app, [])
    try:
        yield node
    finally:
        for client in node.clients:
            await client.close()
        await server.close()


@pytest.fixture(params=[0, 2], ids=["in-process", "2-workers"])
async def live(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[LiveNode]:
    """A node with its media in-process and, again, in two media worker processes."""
    async with running_node(tmp_path, request.param) as node:
        yield node


@pytest.fixture
async def workers_live(tmp_path: Path) -> AsyncIterator[LiveNode]:
    """A node with two media worker processes."""
    async with running_node(tmp_path, 2) as node:
        yield node


DOCTOR = ("dr Anna Nowak", "host", "administration")
# Officials of one office (A2A: nobody waits); the lobby's tests book citizens (CITIZEN) in A2C.
PATIENT = ("Jan Kowalski", "member", "administration")
VIEWER = ("Obserwator", "viewer", "administration")
CITIZEN = ("Ewa Obywatelska", "member", "citizen")
SECOND_CITIZEN = ("Adam Drugi", "member", "citizen")


async def doctor_and_patient(live: LiveNode) -> tuple[dict[str, Any], Client, Client]:
    """A room booked for DOCTOR and PATIENT, both connected by Socket.IO: (room, doctor, patient)."""
    room = await live.book(DOCTOR, PATIENT)
    doctor, patient = (live.client(p["token"]) for p in room["participants"])
    await doctor.connect()
    await patient.connect()
    return room, doctor, patient


async def patient_watching(live: LiveNode) -> tuple[dict[str, Any], dict[str, Any], Client]:
    """A room booked for DOCTOR and PATIENT, only the patient connected by Socket.IO, to watch the doctor
    publish some other way (WHIP): (room, the doctor's participant, the patient's client)."""
    room = await live.book(DOCTOR, PATIENT)
    doctor_p, patient_p = room["participants"]
    watcher = live.client(patient_p["token"])
    await watcher.connect()
    return room, doctor_p, watcher


@pytest.fixture
async def recorded_world() -> AsyncIterator[tuple[World, FakeEvents]]:
    """The fake live-room world (tests/signalling/world.py: an A2C room, ``a`` hosts, ``w`` waits) with its
    room events kept in a `FakeEvents` sink."""
    recorded = FakeEvents()
    world = build_world(events=recorded)
    yield world, recorded
    await world.service.close()
