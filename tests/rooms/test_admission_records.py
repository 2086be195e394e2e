"""Admission records in the SQLite store (real files): appended, the latest shown, kept across a reopen,
migrated onto an existing file, refused for a participant the room does not have; and any record
round-trips exactly, through the store and through its event's JSON form (the worker link's). Records
come from the room events of a host's or the API's admit and deny (rooms.events)."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rooms.admissions import API, AdmissionOutcome, AdmissionRecord, record_of
from rooms.errors import NotFound
from rooms.events import RoomEvent
from rooms.migrations import MIGRATIONS
from rooms.model import ConferencingModel, Kind, Participant, Party, Role, Room
from rooms.sqlite_store import SqliteRoomStore

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
ADMITTED, DENIED = AdmissionOutcome.ADMITTED, AdmissionOutcome.DENIED


def a2c_room(rid: str) -> Room:
    """An A2C room: a host (``<rid>-host``) and two citizens (``<rid>-c1``, ``<rid>-c2``)."""
    people = [("host", Role.HOST, Party.ADMINISTRATION), ("c1", Role.MEMBER, Party.CITIZEN),
              ("c2", Role.MEMBER, Party.CITIZEN)]
    return Room(rid, "portal", "Konsultacja", Kind.CONSULTATION, ConferencingModel.A2C, T0,
                T0 + timedelta(minutes=30), None, T0, T0,
                participants=tuple(Participant(f"{rid}-{n}", rid, f"Osoba {n}", role, party, f"jti-{n}", T0)
                                   for n, role, party in people))


def record(rid: str, who: str, outcome: AdmissionOutcome, by: str, minute: int) -> AdmissionRecord:
    return AdmissionRecord(rid, f"{rid}-{who}", outcome, by, T0 + timedelta(minutes=minute))


def event_of(r: AdmissionRecord) -> RoomEvent:
    """The room event a host's (or the API's) decision is (live rooms record these)."""
    kind = "lobby.admitted" if r.outcome is ADMITTED else "lobby.denied"
    return RoomEvent(kind, "portal", r.room_id, r.at, r.participant_id, r.by)


async def keep(store: SqliteRoomStore, r: AdmissionRecord) -> None:
    await store.record_events([event_of(r)])


async def opened(path: Path) -> SqliteRoomStore:
    store = SqliteRoomStore(path)
    await store.open()
    return store


async def test_the_latest_decision_of_each_participant_is_shown(tmp_path: Path) -> None:
    store = await opened(tmp_path / "s.db")
    await store.create_room(a2c_room("r1"), None)
    await store.create_room(a2c_room("r2"), None)
    denied = record("r1", "c1", DENIED, "r1-host", 1)
    admitted = record("r1", "c1", ADMITTED, API, 2)  # the API let them in after a host had said no
    other = record("r2", "c2", ADMITTED, "r2-host", 1)
    for r in (denied, admitted, other):
        await keep(store, r)
    assert await store.latest_admissions(["r1"]) == {"r1-c1": admitted}
    assert await store.latest_admissions(["r1", "r2"]) == {"r1-c1": admitted, "r2-c2": other}
    assert await store.latest_admissions(["r2", "nowhere"]) == {"r2-c2": other}
    assert await store.latest_admissions([]) == {}
    await store.close()


async def test_records_are_appended_in_named_columns_and_survive_a_reopen(tmp_path: Path) -> None:
    store = await opened(tmp_path / "s.db")
    await store.create_room(a2c_room("r1"), None)
    kept = [record("r1", "c1", DENIED, "r1-host", 1), record("r1", "c1", ADMITTED, "r1-host", 2),
            record("r1", "c2", ADMITTED, API, 3)]
    for r in kept:
        await keep(store, r)
    await store.close()
    store = await opened(tmp_path / "s.db")
    assert await store.latest_admissions(["r1"]) == {"r1-c1": kept[1], "r1-c2": kept[2]}
    await store.close()
    conn = sqlite3.connect(tmp_path / "s.db")
    conn.row_factory = sqlite3.Row
    rows = conn.execute("SELECT * FROM admissions ORDER BY id").fetchall()
    conn.close()
    assert [(r["participant_id"], r["outcome"], r["decided_by"]) for r in rows] == [
        ("r1-c1", "denied", "r1-host"), ("r1-c1", "admitted", "r1-host"), ("r1-c2", "admitted", "api")]
    assert set(rows[0].keys()) == {"id", "room_id", "participant_id", "outcome", "decided_by", "at_us"}  # no names


async def test_a_participant_the_room_does_not_have_is_refused(tmp_path: Path) -> None:
    store = await opened(tmp_path / "s.db")
    await store.create_room(a2c_room("r1"), None)
    await store.create_room(a2c_room("r2"), None)
    with pytest.raises(NotFound):
        await keep(store, record("r1", "nobody", ADMITTED, API, 1))
    with pytest.raises(NotFound):  # a participant of another room
        await keep(store, AdmissionRecord("r1", "r2-c1", ADMITTED, API, T0))
    assert await store.latest_admissions(["r1", "r2"]) == {}
    await store.close()


async def test_a_file_of_the_previous_schema_is_migrated_and_keeps_its_rooms(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = await opened(path)
    await store.create_room(a2c_room("r1"), None)
    await store.close()
    conn = sqlite3.connect(path)  # back to version 1: as a node of the previous release left it
    later = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN"
                                        " ('rooms', 'participants', 'idempotency', 'sqlite_sequence')")]
    added = ("ALTER TABLE participants DROP COLUMN invite_id;"  # columns later versions added to version 1's tables
             "DROP INDEX rooms_by_kind_end; ALTER TABLE rooms DROP COLUMN purged_us;")
    conn.executescript("".join(f"DROP TABLE {name};" for name in later) + added + "PRAGMA user_version = 1;")
    conn.close()
    store = await opened(path)
    assert await store.get_room("r1") == a2c_room("r1")
    await keep(store, record("r1", "c1", ADMITTED, "r1-host", 1))
    assert list(await store.latest_admissions(["r1"])) == ["r1-c1"]
    await store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    conn.close()


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        AdmissionRecord("r1", "r1-c1", ADMITTED, API, datetime(2026, 12, 1, 8, 0))


times = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 30),
                     timezones=st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-1439, 1439)))
records = st.builds(AdmissionRecord, room_id=st.just("r1"), participant_id=st.sampled_from(["r1-c1", "r1-c2"]),
                    outcome=st.sampled_from(AdmissionOutcome), by=st.text(min_size=1, max_size=200), at=times)


@given(records)
def test_any_record_round_trips_through_json_and_the_store(r: AdmissionRecord) -> None:
    assert record_of(RoomEvent.from_json(event_of(r).as_json())) == r  # the worker link's form

    async def run() -> AdmissionRecord:
        with tempfile.TemporaryDirectory() as tmp:
            store = await opened(Path(tmp) / "s.db")
            try:
                await store.create_room(a2c_room("r1"), None)
                await keep(store, r)
                return (await store.latest_admissions(["r1"]))[r.participant_id]
            finally:
                await store.close()

    stored = asyncio.run(run())
    assert stored == r and stored.at.utcoffset() == timedelta(0)  # the same instant, in UTC
