"""The embedded SQLite store on real files: durability, batching, migrations, conflicts."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rooms.errors import Conflict, IdempotencyConflict, NotFound
from rooms.migrations import MIGRATIONS
from rooms.model import ConferencingModel, Kind, Participant, Party, Role, Room, RoomStatus
from rooms.sqlite_store import SqliteRoomStore, StoreClosed
from rooms.store import IdempotencyClaim, RoomQuery

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def room(n: int, tenant: str = "portal", people: int = 1) -> Room:
    rid = f"room-{n:04d}"
    return Room(
        rid, tenant, f"Room {n}", Kind.MEETING, ConferencingModel.A2A,
        T0 + timedelta(minutes=n), T0 + timedelta(minutes=n + 30), f"REF-{n % 3}", T0, T0,
        participants=tuple(
            Participant(f"{rid}-p{i}", rid, f"Person {i}", Role.MEMBER, Party.ADMINISTRATION,
                        f"jti-{i}", T0)
            for i in range(people)
        ),
    )


async def opened(path: Path) -> SqliteRoomStore:
    store = SqliteRoomStore(path)
    await store.open()
    return store


async def test_round_trip_and_reopen(tmp_path: Path) -> None:
    store = await opened(tmp_path / "s.db")
    original = room(1, people=3)
    assert (await store.create_room(original, None)).replayed is False
    await store.close()
    store = await opened(tmp_path / "s.db")
    assert await store.get_room("room-0001") == original
    assert await store.get_room("room-0001", "portal") == original
    assert await store.get_room("room-0001", "clinic") is None
    await store.close()


async def test_schema_version_and_wal(tmp_path: Path) -> None:
    store = await opened(tmp_path / "s.db")
    await store.close()
    conn = sqlite3.connect(tmp_path / "s.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


async def test_commits_are_synced_unless_opened_not_durable(tmp_path: Path) -> None:
    """FULL for the front (a 201 means on disk); NORMAL for the webhook delivery process's connection."""
    for durable, level in ((True, 2), (False, 1)):
        store = SqliteRoomStore(tmp_path / "s.db", durable=durable)
        await store.open()
        try:
            assert await store.execute(lambda c: c.execute("PRAGMA synchronous").fetchone()[0], write=False) == level
        finally:
            await store.close()


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "s.db")
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer than this program knows"):
        await opened(tmp_path / "s.db")


async def test_many_concurrent_writes_all_land(tmp_path: Path) -> None:
    store = await opened(tmp_path / "s.db")
    results = await asyncio.gather(*(store.create_room(room(n), None) for n in range(300)))
    assert len(results) == 300
    stats = await store.stats()
    assert (stats.rooms_scheduled, stats.participants) == (300, 300)
    await store.close()


async def test_one_failing_write_does_not_spoil_its_batch(tmp_path: Path) -> None:
    store = await opened(tmp_path / "s.db")
    await store.create_room(room(1), None)
    outcomes = await asyncio.gather(
        store.create_room(room(2), None),
        store.create_room(room(1), None),  # duplicate id: fails alone
        store.create_room(room(3), None),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], sqlite3.IntegrityError)
    assert await store.get_room("room-0002") is not None
    assert await store.get_room("room-0003") is not None
    await store.close()


async def test_idempotency(tmp_path: Path) -> None:
    store = await opened(tmp_path / "s.db")
    claim = IdempotencyClaim("portal", "POST /rooms", "k1", "fp-1")
    first = await store.create_room(room(1), claim)
    again = await store.create_room(room(2), claim)
    assert again.replayed and again.value.id == first.value.id
    assert await store.get_room("room-0002") is None
    with pytest.raises(IdempotencyConflict):
        await store.create_room(room(3), replace(claim, fingerprint="fp-2"))
    await store.close()


async def test_optimistic_update(tmp_path: Path) -> None:
    store = await opened(tmp_path / "s.db")
    original = (await store.create_room(room(1), None)).value
    updated = await store.update_room(replace(original, title="New"))
    assert (updated.title, updated.version) == ("New", 2)
    with pytest.raises(Conflict):
        await store.update_room(replace(original, title="Stale"))
    with pytest.raises(NotFound):
        await store.update_room(replace(room(9), version=1))
    await store.close()


async def test_participant_limit_is_atomic(tmp_path: Path) -> None:
    store = await opened(tmp_path / "s.db")
    await store.create_room(room(1, people=0), None)
    newcomers = [
        Participant(f"n{i}", "room-0001", "N", Role.MEMBER, Party.ADMINISTRATION, "j", T0)
        for i in range(10)
    ]
    outcomes = await asyncio.gather(
        *(store.add_participant("portal", p, 4, None) for p in newcomers), return_exceptions=True
    )
    assert sum(not isinstance(o, Exception) for o in outcomes) == 4
    assert all(isinstance(o, Conflict) for o in outcomes if isinstance(o, Exception))
    with pytest.raises(NotFound):
        await store.add_participant("clinic", newcomers[0], 4, None)
    await store.close()


async def test_listing_is_keyset_paginated(tmp_path: Path) -> None:
    store = await opened(tmp_path / "s.db")
    for n in range(7):
        await store.create_room(room(n), None)
    await store.create_room(room(100, tenant="clinic"), None)
    seen, after = [], None
    while True:
        page = await store.list_rooms(RoomQuery("portal", limit=3, after=after))
        seen += [r.id for r in page.rooms]
        after = page.next_after
        if after is None:
            break
    assert seen == [f"room-{n:04d}" for n in range(7)]
    refs = await store.list_rooms(RoomQuery("portal", external_ref="REF-1"))
    assert [r.id for r in refs.rooms] == ["room-0001", "room-0004"]
    cancelled = await store.list_rooms(RoomQuery("portal", status=RoomStatus.CANCELLED))
    assert cancelled.rooms == []
    await store.close()


async def test_closed_store_refuses_clearly(tmp_path: Path) -> None:
    store = await opened(tmp_path / "s.db")
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(StoreClosed):
        await store.get_room("x")


async def test_unopenable_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(sqlite3.OperationalError):
        await opened(tmp_path / "dir.db")
