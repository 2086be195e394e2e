"""A visit's record in the store: its timer totals, and once completed its outcome and note.

One row per consultation room (``visit_outcomes``, rooms/migrations.py), in the room store's
file, written through the store's executor as rooms/webhooks/outbox.py does. Only the front
process holds the store: the consultation workflow reaches these through front calls by name
(`FRONT_CALLS`, signalling/front_calls.py), in the front directly or from a media worker over
the worker link. The note is never logged and never put in an event.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rooms.clock import from_micros, to_micros
from rooms.events import RoomEvent
from rooms.webhooks.outbox import Executor
from signalling.front_calls import FrontCall
from telemed import visit_events
from telemed.outcome import VisitOutcome, note_problem
from telemed.visit_errors import VisitCompleted

__all__ = ["COMPLETE", "LOAD", "SAVE", "VisitRecord", "VisitRecords"]

#: The front calls' names.
LOAD, SAVE, COMPLETE = "visit.load", "visit.save", "visit.complete"


@dataclass(frozen=True, slots=True)
class VisitRecord:
    """What the store keeps of one visit (times aware, UTC)."""

    room_id: str
    tenant: str
    started_at: datetime | None
    in_call_seconds: int
    outcome: VisitOutcome | None
    note: str | None
    completed_by: str | None
    completed_at: datetime | None


def _record(row: sqlite3.Row) -> VisitRecord:
    return VisitRecord(
        room_id=row["room_id"], tenant=row["tenant"],
        started_at=None if row["started_us"] is None else from_micros(row["started_us"]),
        in_call_seconds=row["in_call_us"] // 1_000_000,
        outcome=None if row["outcome"] is None else VisitOutcome(row["outcome"]), note=row["note"],
        completed_by=row["completed_by"],
        completed_at=None if row["completed_us"] is None else from_micros(row["completed_us"]))


def _time(value: Any) -> int | None:
    return None if value is None else to_micros(datetime.fromisoformat(str(value)))


class VisitRecords:
    """The visits' rows, on the store's executor."""

    def __init__(self, store: Executor, settle: Callable[[], Awaitable[None]] | None = None) -> None:
        """*settle* waits until live rooms' events queued so far are written (QueuedEvents.flush), so
        that a completion's events come after them in the room's trail."""
        self.store = store
        self.settle = settle

    async def read(self, room_id: str) -> VisitRecord | None:
        def run(conn: sqlite3.Connection) -> VisitRecord | None:
            row = conn.execute("SELECT * FROM visit_outcomes WHERE room_id = ?", (room_id,)).fetchone()
            return None if row is None else _record(row)

        return await self.store.execute(run, write=False)

    async def save(self, tenant: str, room_id: str, started_at: datetime | None, in_call_seconds: int,
                   at: datetime) -> None:
        """Keep the timer's totals (the live room closing, nobody left): a visit taken up again goes on from
        them. Nothing changes once completed."""
        def run(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO visit_outcomes (room_id, tenant, started_us, in_call_us, updated_us)"
                " VALUES (?,?,?,?,?) ON CONFLICT (room_id) DO UPDATE SET"
                " started_us = COALESCE(visit_outcomes.started_us, excluded.started_us),"
                " in_call_us = excluded.in_call_us, updated_us = excluded.updated_us"
                " WHERE visit_outcomes.outcome IS NULL",
                (room_id, tenant, None if started_at is None else to_micros(started_at),
                 in_call_seconds * 1_000_000, to_micros(at)))

        await self.store.execute(run, write=True)

    async def complete(self, tenant: str, room_id: str, outcome: VisitOutcome, note: str | None, by: str,
                       at: datetime, started_at: datetime | None, in_call_seconds: int) -> None:
        """Record the outcome, once (VisitCompleted when the visit has one already), with its events
        (``consultation.completed``, and ``consultation.no_show`` for that outcome) in the same
        transaction: a crash keeps both or neither, so the scheduling system always hears it."""
        if note is not None and note_problem(note) is not None:
            raise ValueError("a visit note must be lines of visible text")  # checked by the workflow before

        def run(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT outcome FROM visit_outcomes WHERE room_id = ?", (room_id,)).fetchone()
            if row is not None and row["outcome"] is not None:
                raise VisitCompleted("this visit has its outcome already: it is recorded once")
            conn.execute(
                "INSERT INTO visit_outcomes (room_id, tenant, started_us, in_call_us, outcome, note, completed_by,"
                " completed_us, updated_us) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (room_id) DO UPDATE SET"
                " started_us = COALESCE(visit_outcomes.started_us, excluded.started_us),"
                " in_call_us = excluded.in_call_us, outcome = excluded.outcome, note = excluded.note,"
                " completed_by = excluded.completed_by, completed_us = excluded.completed_us,"
                " updated_us = excluded.updated_us",
                (room_id, tenant, None if started_at is None else to_micros(started_at), in_call_seconds * 1_000_000,
                 outcome.value, note, by, to_micros(at), to_micros(at)))

        events = [RoomEvent(visit_events.COMPLETED, tenant, room_id, at, by=by,
                            data={"outcome": outcome.value, "in_call_seconds": in_call_seconds})]
        if outcome is VisitOutcome.NO_SHOW:
            events.append(RoomEvent(visit_events.NO_SHOW, tenant, room_id, at, by=by))
        if self.settle is not None:
            await self.settle()
        await self.store.execute(run, write=True, events=events)

    # -- the front calls (JSON in, JSON out) ------------------------------------------------

    async def _load(self, p: Mapping[str, Any]) -> dict[str, Any] | None:
        record = await self.read(str(p["room_id"]))
        if record is None:
            return None
        return {"started_at": None if record.started_at is None else record.started_at.isoformat(),
                "in_call_seconds": record.in_call_seconds,
                "outcome": None if record.outcome is None else record.outcome.value}

    async def _save(self, p: Mapping[str, Any]) -> None:
        started = _time(p["started_at"])
        await self.save(str(p["tenant"]), str(p["room_id"]), None if started is None else from_micros(started),
                        int(p["in_call_seconds"]), datetime.fromisoformat(str(p["at"])))

    async def _complete(self, p: Mapping[str, Any]) -> None:
        started = _time(p["started_at"])
        await self.complete(str(p["tenant"]), str(p["room_id"]), VisitOutcome(p["outcome"]),
                            None if p["note"] is None else str(p["note"]), str(p["by"]),
                            datetime.fromisoformat(str(p["at"])), None if started is None else from_micros(started),
                            int(p["in_call_seconds"]))

    def front_calls(self) -> dict[str, FrontCall]:
        """The handlers the front serves to the consultation workflow, by name."""
        return {LOAD: self._load, SAVE: self._save, COMPLETE: self._complete}
