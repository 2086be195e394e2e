"""Pre-call check results on the room store's SQLite file (table ``prechecks``, schema version 6).

Each result a participant's browser sends is one row; a participant keeps at most ``HISTORY`` of them
(older ones are deleted as a new one arrives), and the latest is the one shown. Rows hold ids, device
flags, two numbers, the verdict and advice codes: nothing typed by a person. Retention erases a
consultation's rows with its other details (telemed/retention.py). SQL runs through the store's
executor, in its thread, like the webhooks' outbox.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from rooms.clock import from_micros, to_micros
from telemed.precheck.verdict import Advice, Measurement, Verdict

__all__ = ["HISTORY", "Executor", "PrecheckRecord", "PrecheckStore"]

T = TypeVar("T")
#: Results kept per participant: the latest and a few before it (a patient may test again after advice).
HISTORY = 5


class Executor(Protocol):
    """Runs a function on the store's connection, in its thread (one transaction when *write*)."""

    async def execute(self, fn: Callable[[sqlite3.Connection], T], *, write: bool) -> T: ...


@dataclass(frozen=True, slots=True)
class PrecheckRecord:
    """One stored result: who (ids), what the browser measured, what the server concluded, when."""

    room_id: str
    participant_id: str
    measurement: Measurement
    verdict: Verdict
    advice: tuple[Advice, ...]
    at: datetime

    def as_json(self) -> dict[str, Any]:
        m = self.measurement
        return {"participant_id": self.participant_id, "camera": m.camera, "microphone": m.microphone,
                "speaker": m.speaker, "rtt_ms": m.rtt_ms, "upstream_kbps": m.upstream_kbps,
                "verdict": self.verdict.value, "advice": [a.value for a in self.advice],
                "at": self.at.isoformat().replace("+00:00", "Z")}


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _record(row: sqlite3.Row) -> PrecheckRecord:
    speaker = row["speaker"]
    measurement = Measurement(camera=bool(row["camera"]), microphone=bool(row["microphone"]),
                              speaker=None if speaker is None else bool(speaker), rtt_ms=row["rtt_ms"],
                              upstream_kbps=row["upstream_kbps"])
    advice = tuple(Advice(a) for a in json.loads(row["advice"]))
    return PrecheckRecord(row["room_id"], row["participant_id"], measurement, Verdict(row["verdict"]), advice,
                          from_micros(row["at_us"]))


class PrecheckStore:
    """Record results and read each participant's latest (with their few earlier ones)."""

    def __init__(self, store: Executor) -> None:
        self.store = store

    async def record(self, record: PrecheckRecord) -> None:
        """Keep *record*; the participant's results beyond the latest ``HISTORY`` go."""

        def run(conn: sqlite3.Connection) -> None:
            m = record.measurement
            conn.execute(
                "INSERT INTO prechecks (room_id, participant_id, camera, microphone, speaker, rtt_ms,"
                " upstream_kbps, verdict, advice, at_us) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (record.room_id, record.participant_id, int(m.camera), int(m.microphone), _flag(m.speaker),
                 m.rtt_ms, m.upstream_kbps, record.verdict.value,
                 json.dumps([a.value for a in record.advice]), to_micros(record.at)),
            )
            conn.execute(
                "DELETE FROM prechecks WHERE room_id = ? AND participant_id = ? AND id NOT IN ("
                " SELECT id FROM prechecks WHERE room_id = ? AND participant_id = ? ORDER BY id DESC LIMIT ?)",
                (record.room_id, record.participant_id, record.room_id, record.participant_id, HISTORY),
            )

        await self.store.execute(run, write=True)

    async def of_room(self, room_id: str) -> dict[str, list[PrecheckRecord]]:
        """Each participant's results in *room_id*, newest first (at most ``HISTORY`` each)."""

        def run(conn: sqlite3.Connection) -> dict[str, list[PrecheckRecord]]:
            rows = conn.execute("SELECT * FROM prechecks WHERE room_id = ? ORDER BY participant_id, id DESC",
                                (room_id,)).fetchall()
            out: dict[str, list[PrecheckRecord]] = {}
            for row in rows:
                out.setdefault(row["participant_id"], []).append(_record(row))
            return out

        return await self.store.execute(run, write=False)
