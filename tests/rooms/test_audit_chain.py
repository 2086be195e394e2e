"""The audit chain on a real SQLite file: events appended with their changes, and any entry edited,
inserted or deleted in the file is found and named."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rooms.audit import GENESIS, AuditEntry, chain_hash, verify
from rooms.errors import Conflict
from rooms.events import API, RoomEvent, canonical_json
from rooms.sqlite_store import SqliteRoomStore
from rooms.store import IdempotencyClaim
from tests.rooms.test_sqlite_store import T0, opened, room

ROOM = "room-0001"


def event(type_: str, minute: int, participant: str | None = None, **data: str) -> RoomEvent:
    return RoomEvent(type_, "portal", ROOM, T0 + timedelta(minutes=minute), participant, API, data)


async def booked(path: Path) -> SqliteRoomStore:
    """A room booked with its event, then four events of a call."""
    store = await opened(path)
    await store.create_room(room(1, people=2), None, [event("booking.created", 0)])
    await store.record_events([event("room.started", 1), event("lobby.waiting", 1, f"{ROOM}-p1", party="citizen"),
                               event("lobby.admitted", 2, f"{ROOM}-p1"),
                               event("participant.muted_by_host", 3, f"{ROOM}-p1", kind="audio")])
    return store


async def test_events_are_chained_in_order_and_verify(tmp_path: Path) -> None:
    store = await booked(tmp_path / "s.db")
    entries, check = await store.audit_trail(ROOM)
    assert [e.type for e in entries] == ["booking.created", "room.started", "lobby.waiting",
                                         "lobby.admitted", "participant.muted_by_host"]
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS and entries[1].prev_hash == entries[0].hash
    assert check.ok and check.entries == 5 and check.head == entries[-1].hash
    assert json.loads(entries[4].body)["data"] == {"kind": "audio"}
    assert await store.audited_rooms() == [ROOM]
    await store.close()


async def test_a_replayed_booking_and_a_refused_change_append_nothing(tmp_path: Path) -> None:
    store = await opened(tmp_path / "s.db")
    claim = IdempotencyClaim("portal", "rooms", "k1", "f1")
    first = room(1)
    await store.create_room(first, claim, [event("booking.created", 0)])
    assert (await store.create_room(first, claim, [event("booking.created", 0)])).replayed
    stale = first  # version 1 is gone once the first edit lands
    await store.update_room(first, [event("booking.updated", 1, fields="title")])
    with pytest.raises(Conflict):
        await store.update_room(stale, [event("booking.updated", 2, fields="title")])
    assert not await store.remove_participant("portal", ROOM, "nobody", T0, [event("participant.removed", 3)])
    entries, check = await store.audit_trail(ROOM)
    assert [e.type for e in entries] == ["booking.created", "booking.updated"] and check.ok
    await store.close()


def tamper(path: Path, *sql: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys=OFF")
    for statement in sql:
        conn.execute(statement)
    conn.commit()
    conn.close()


@pytest.mark.parametrize(("sql", "first_bad"), [
    # an edited entry: the muted kind changed from audio to video in the stored JSON
    (["UPDATE events SET body = replace(body, '\"audio\"', '\"video\"') WHERE seq = 5"], 5),
    # an edited column that is not hashed: the type shown in queries
    (["UPDATE events SET type = 'lobby.denied' WHERE seq = 4"], 4),
    # a deleted entry in the middle
    (["DELETE FROM events WHERE seq = 3"], 3),
    # the last entry deleted: the head still names it
    (["DELETE FROM events WHERE seq = 5"], 5),
    # the last entry deleted and the head moved back too: the entry before does not match
    (["DELETE FROM events WHERE seq = 5",
      "UPDATE audit_heads SET seq = 4"], 4),
    # an entry inserted after the second, the later ones renumbered to make room
    (["UPDATE events SET seq = seq + 100 WHERE seq >= 3",
      "UPDATE events SET seq = seq - 99 WHERE seq >= 103",
      "INSERT INTO events (tenant, room_id, seq, type, at_us, body, prev_hash, hash) SELECT tenant, room_id, 3,"
      " 'lobby.denied', at_us, body, prev_hash, hash FROM events WHERE seq = 2",
      "UPDATE audit_heads SET seq = 6"], 3),
])
async def test_an_edited_inserted_or_deleted_entry_is_named(tmp_path: Path, sql: list[str], first_bad: int) -> None:
    path = tmp_path / "s.db"
    store = await booked(path)
    await store.close()
    tamper(path, *sql)
    store = await opened(path)
    _, check = await store.audit_trail(ROOM)
    assert not check.ok and check.first_bad == first_bad, check
    assert check.problem
    await store.close()


def chain(n: int) -> list[AuditEntry]:
    entries, previous = [], GENESIS
    for seq in range(1, n + 1):
        body = canonical_json(event("participant.joined", seq, f"p{seq}").as_json())
        digest = chain_hash(previous, seq, body)
        entries.append(AuditEntry(seq, "participant.joined", T0 + timedelta(minutes=seq), body, previous, digest))
        previous = digest
    return entries


@given(st.integers(1, 12), st.data())
def test_any_single_change_to_a_chain_is_found_at_or_before_it(n: int, data: st.DataObject) -> None:
    entries = chain(n)
    assert verify(entries, (n, entries[-1].hash)).ok
    where = data.draw(st.integers(0, n - 1))
    how = data.draw(st.sampled_from(["body", "drop", "swap", "duplicate"]))
    changed = list(entries)
    if how == "body":
        e = changed[where]
        changed[where] = AuditEntry(e.seq, e.type, e.at, e.body.replace("joined", "left"), e.prev_hash, e.hash)
    elif how == "drop":
        del changed[where]
    elif how == "swap" and n > 1:
        other = (where + 1) % n
        changed[where], changed[other] = changed[other], changed[where]
    else:
        changed.insert(where, changed[where])
    check = verify(changed, (n, entries[-1].hash))
    # a copy or a swap may show one entry later
    assert not check.ok and check.first_bad is not None and check.first_bad <= where + 2


def test_an_empty_chain_is_fine_but_a_head_without_entries_is_not() -> None:
    assert verify([], None).ok
    check = verify([], (3, "f" * 64))
    assert not check.ok and check.first_bad == 1


def test_an_event_refuses_unknown_types_and_naive_times() -> None:
    with pytest.raises(ValueError):
        RoomEvent("room.exploded", "portal", ROOM, T0)
    with pytest.raises(ValueError):
        RoomEvent("room.started", "portal", ROOM, datetime(2026, 12, 1, 8, 0))
    again = RoomEvent.from_json(event("lobby.waiting", 1, "p", party="citizen").as_json())
    assert again == event("lobby.waiting", 1, "p", party="citizen") and again.at.tzinfo is not None
    assert T0.tzinfo is UTC
