"""The fake live-room world (tests/signalling/world.py) running a consultation: the `Consultation` workflow on
the fakes, its records in a real SQLite store (`VisitRecords` behind `LocalFrontCalls`), its events kept.

People of `VISIT`: ``d`` is the clinician (host), ``p`` the patient (a citizen), ``g`` a second non-host (an
official: a consultation lets no non-host in without a clinician either)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from rooms.events import RoomEvent
from rooms.model import Kind, Party, Role, Room
from rooms.sqlite_store import SqliteRoomStore
from signalling.front_calls import LocalFrontCalls
from signalling.member import Member
from signalling.messages import Message
from signalling.workflow import Workflows
from telemed.consultation import Consultation
from telemed.visit_records import VisitRecords
from tests.signalling.fakes import FakeEvents
from tests.signalling.world import NOW, ROOM, World, build_world, person, settle

T = TypeVar("T")
PEOPLE = {"d": person("d", Role.HOST), "p": person("p", party=Party.CITIZEN), "g": person("g")}
VISIT = replace(ROOM, kind=Kind.CONSULTATION, title="Wizyta", participants=tuple(PEOPLE.values()))


@dataclass
class VisitWorld:
    world: World
    events: FakeEvents
    records: VisitRecords
    workflow: Consultation
    room: Room = VISIT
    store: SqliteRoomStore | None = None

    async def arrive(self, pid: str, sid: str | None = None) -> Member:
        await self.world.service.arrive(self.room, PEOPLE[pid], sid or f"sid-{pid}")
        await settle()
        return self.world.member(pid)

    async def send(self, pid: str | None, message: Message) -> dict[str, Any]:
        return await self.world.send(pid, message)

    def types(self) -> list[str]:
        return [e.type for e in self.events.events]

    def visit_views(self) -> list[dict[str, Any]]:
        return [c.data for c in self.world.notifier.broadcasts(self.room.id, "visit")]


class TellingStore:
    """The real store; the events it writes with a change (a visit's outcome) the fake sink sees too, so
    that a test reads every event of the visit in one list."""

    def __init__(self, store: SqliteRoomStore, events: FakeEvents) -> None:
        self.store = store
        self.events = events

    async def execute(self, fn: Callable[[sqlite3.Connection], T], *, write: bool,
                      events: Sequence[RoomEvent] = ()) -> T:
        value = await self.store.execute(fn, write=write, events=events)
        await self.events.record_events(events)
        return value


@asynccontextmanager
async def visit_world(tmp_path: Path, *, warning: timedelta = timedelta(minutes=5),
                      room: Room = VISIT) -> AsyncIterator[VisitWorld]:
    store = SqliteRoomStore(tmp_path / "store.sqlite3")
    await store.open()
    await store.create_room(room, None)
    events = FakeEvents()
    records = VisitRecords(TellingStore(store, events))
    workflow = Consultation(warning)
    world = build_world(events=events, workflows=Workflows([workflow]),
                        front=LocalFrontCalls(records.front_calls()))
    try:
        yield VisitWorld(world, events, records, workflow, room, store)
    finally:
        await world.service.close()
        await store.close()


__all__ = ["NOW", "PEOPLE", "VISIT", "VisitWorld", "visit_world"]
