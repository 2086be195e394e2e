"""`QueuedEvents`: a live room hands its events over at once, they reach the store in order (on a real
SQLite file: the audit chain's numbers follow the order given), a failed write is logged with ids and
the rest go on, the queue is bounded, and `close()` writes what waits."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from rooms.events import RoomEvent
from signalling.event_queue import QueuedEvents
from tests.rooms.test_sqlite_store import T0, opened, room

ROOM = "room-0001"


def joined(n: int) -> RoomEvent:
    return RoomEvent("participant.joined", "portal", ROOM, T0 + timedelta(seconds=n), f"p{n}", None, {"role": "member"})


class Gate:
    """A sink that holds every write until opened; *fail_on*: the participant whose write fails."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.open = asyncio.Event()
        self.written: list[str | None] = []
        self.fail_on = fail_on

    async def record_events(self, events: Sequence[RoomEvent]) -> None:
        await self.open.wait()
        if events[0].participant_id == self.fail_on:
            raise RuntimeError("disk full")
        self.written += [e.participant_id for e in events]


async def test_a_room_never_waits_and_the_store_gets_them_in_order(tmp_path: Path) -> None:
    store = await opened(tmp_path / "s.db")
    await store.create_room(room(1), None)
    queued = QueuedEvents(store)
    for n in range(300):
        await queued.record_events([joined(n)])
    await queued.close()
    entries, check = await store.audit_trail(ROOM)
    assert check.ok and [e.seq for e in entries] == list(range(1, 301))
    assert [RoomEvent.from_json(json.loads(e.body)).participant_id for e in entries] == \
        [f"p{n}" for n in range(300)]
    await store.close()


async def test_handing_over_does_not_wait_for_the_write() -> None:
    gate = Gate()
    queued = QueuedEvents(gate)
    await asyncio.wait_for(queued.record_events([joined(1)]), timeout=0.5)  # the gate is shut: no waiting
    await asyncio.sleep(0)
    assert gate.written == []
    gate.open.set()
    await queued.close()
    assert gate.written == ["p1"]


async def test_a_failed_write_is_logged_with_ids_and_the_rest_go_on(caplog: pytest.LogCaptureFixture) -> None:
    gate = Gate(fail_on="p2")
    gate.open.set()
    queued = QueuedEvents(gate)
    with caplog.at_level(logging.ERROR, logger="signalling.event_queue"):
        for n in (1, 2, 3):
            await queued.record_events([joined(n)])
        await queued.close()
    assert gate.written == ["p1", "p3"] and queued.failed == 1
    assert [r.getMessage() for r in caplog.records] == [
        f"events not recorded room={ROOM} type=participant.joined count=1"]


async def test_past_the_limit_new_events_are_dropped_and_said(caplog: pytest.LogCaptureFixture) -> None:
    gate = Gate()
    queued = QueuedEvents(gate, limit=3)
    with caplog.at_level(logging.ERROR, logger="signalling.event_queue"):
        for n in range(6):
            await queued.record_events([joined(n)])
    assert queued.failed >= 2 and any("events dropped" in r.getMessage() for r in caplog.records)
    gate.open.set()
    await queued.close()
    assert gate.written[:3] == ["p0", "p1", "p2"]  # the first ones, in order


async def test_flush_waits_for_what_was_queued_before_it_only() -> None:
    gate = Gate()
    queued = QueuedEvents(gate)
    await queued.flush()  # nothing queued ever: at once
    await queued.record_events([joined(1)])
    await queued.record_events([joined(2)])
    flushed = asyncio.create_task(queued.flush())
    await asyncio.sleep(0.05)
    assert not flushed.done()  # the writes before it are held
    gate.open.set()
    await asyncio.wait_for(flushed, timeout=1)
    assert gate.written[:2] == ["p1", "p2"]
    await queued.record_events([joined(3)])
    await asyncio.wait_for(queued.flush(), timeout=1)
    assert gate.written == ["p1", "p2", "p3"]
    await queued.close()


async def test_a_failed_write_still_ends_a_flush() -> None:
    gate = Gate(fail_on="p1")
    gate.open.set()
    queued = QueuedEvents(gate)
    await queued.record_events([joined(1)])
    await asyncio.wait_for(queued.flush(), timeout=1)
    assert queued.failed == 1
    await queued.close()
