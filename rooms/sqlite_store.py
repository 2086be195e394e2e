"""The embedded, durable room store on one SQLite file.

One thread owns the connection. Requests queue up and are run in batches,
each batch one transaction (group commit): WAL with ``synchronous=FULL`` makes
a booking durable before its 201 is sent, and batching keeps the fsyncs few
under load.

A second process may open the same file (the webhook delivery process) with
``durable=False``: its commits are not synced themselves (``synchronous=NORMAL``)
but reach the disk with the next synced commit or checkpoint, since the WAL is
one sequential log. A power cut can then undo its last claims and settles, which
only sends those messages again (delivery is at least once).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from rooms.admissions import AdmissionOutcome, AdmissionRecord, record_of
from rooms.audit import GENESIS, AuditCheck, AuditEntry, chain_hash, verify
from rooms.clock import MICROSECOND, from_micros, to_micros
from rooms.errors import Conflict, IdempotencyConflict, NotFound
from rooms.events import SYSTEM, RoomEvent, canonical_json
from rooms.guest_invites import InviteClaim, claim_invite
from rooms.migrations import MIGRATIONS
from rooms.model import ConferencingModel, Kind, Participant, Party, Role, Room, RoomStatus
from rooms.retention import PURGED, Purger
from rooms.store import IdempotencyClaim, RoomPage, RoomQuery, Stored, StoreStats
from rooms.webhooks.outbox import queue_deliveries

__all__ = ["SqliteRoomStore", "StoreClosed"]

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BATCH = 256
IDEMPOTENCY_TTL = timedelta(hours=24)


class StoreClosed(RuntimeError):
    """The store was closed (or never opened)."""


_Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]


@dataclass(slots=True)
class _Job:
    fn: Callable[[sqlite3.Connection], Any]
    write: bool
    future: asyncio.Future[Any]


class SqliteRoomStore:
    """RoomStore on a SQLite file (see module docstring for the concurrency model)."""

    def __init__(self, path: Path, *, durable: bool = True) -> None:
        self.path = path
        self.durable = durable
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conn: sqlite3.Connection | None = None
        #: Called on the event loop after a commit that queued webhook messages (the dispatcher's wake-up).
        self.on_outbox: Callable[[], None] | None = None
        #: What packages above rooms erase of a room that retention purges (set by the composition root).
        self.purgers: tuple[Purger, ...] = ()
        self._queued = False

    # -- lifecycle ---------------------------------------------------------

    async def open(self) -> None:
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = self._loop.create_future()
        self._thread = threading.Thread(
            target=self._serve, args=(ready,), name="konsylium-sqlite", daemon=True
        )
        self._thread.start()
        await ready

    async def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(None)
        await asyncio.get_running_loop().run_in_executor(None, thread.join)

    async def ping(self) -> None:
        await self._call(lambda c: c.execute("SELECT 1").fetchone(), write=False)

    # -- the worker thread -------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row  # columns by name: the schema grows without shifting indexes
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={'FULL' if self.durable else 'NORMAL'}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        version = conn.execute("PRAGMA user_version").fetchone()["user_version"]
        if version > len(MIGRATIONS):
            raise RuntimeError(
                f"{self.path} has schema version {version}, newer than this program knows"
            )
        for number in range(version, len(MIGRATIONS)):
            # executescript commits anything pending, so the script carries its own
            # transaction: the schema change and the version move together.
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{MIGRATIONS[number]}\n"
                f"PRAGMA user_version = {number + 1};\nCOMMIT;"
            )
            log.info("store schema migrated to version %s", number + 1)
        return conn

    def _serve(self, ready: asyncio.Future[None]) -> None:
        loop = self._loop
        assert loop is not None
        try:
            conn = self._connect()
        except Exception as exc:  # reported to open()'s caller
            failed: list[_Outcome] = [(ready, None, exc)]
            loop.call_soon_threadsafe(_settle, failed)
            self._thread = None
            return
        opened: list[_Outcome] = [(ready, None, None)]
        loop.call_soon_threadsafe(_settle, opened)
        try:
            while True:
                job = self._queue.get()
                if job is None:
                    break
                batch = [job]
                stop = False
                while len(batch) < MAX_BATCH:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stop = True
                        break
                    batch.append(more)
                self._run_batch(conn, batch)
                if stop:
                    break
        finally:
            conn.close()
            self._fail_pending()

    def _fail_pending(self) -> None:
        loop = self._loop
        assert loop is not None
        results: list[_Outcome] = []
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                results.append((job.future, None, StoreClosed("the store is closed")))
        if results:
            loop.call_soon_threadsafe(_settle, results)

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        loop = self._loop
        assert loop is not None
        writes = any(job.write for job in batch)
        results: list[_Outcome] = []
        self._queued = False
        try:
            if writes:
                conn.execute("BEGIN IMMEDIATE")
            for job in batch:
                if job.write:
                    conn.execute("SAVEPOINT job")
                try:
                    value = job.fn(conn)
                except Exception as exc:
                    if job.write:
                        conn.execute("ROLLBACK TO job")
                        conn.execute("RELEASE job")
                    results.append((job.future, None, exc))
                else:
                    if job.write:
                        conn.execute("RELEASE job")
                    results.append((job.future, value, None))
            if writes:
                conn.execute("COMMIT")
            if self._queued and self.on_outbox is not None:
                loop.call_soon_threadsafe(self.on_outbox)
        except Exception as exc:  # the commit itself failed: nothing in the batch holds
            log.exception("store transaction failed")
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            results = [(job.future, None, exc) for job in batch]
        loop.call_soon_threadsafe(_settle, results)

    def _append(self, conn: sqlite3.Connection, events: Sequence[RoomEvent]) -> None:
        """Append *events* in this transaction, noting whether webhook messages were queued with them."""
        if _append_events(conn, events):
            self._queued = True

    async def execute(self, fn: Callable[[sqlite3.Connection], T], *, write: bool,
                      events: Sequence[RoomEvent] = ()) -> T:
        """Run *fn* on the store's connection in its thread, in a transaction of its own when *write*:
        for the stores that share this file (rooms.webhooks, rooms.guest_invites). *events* are appended
        in the same transaction once *fn* returned (not when it raised)."""
        if not events:
            return await self._call(fn, write=write)

        def run(conn: sqlite3.Connection) -> T:
            value = fn(conn)
            self._append(conn, events)
            return value

        return await self._call(run, write=True)

    async def _call(self, fn: Callable[[sqlite3.Connection], T], *, write: bool) -> T:
        if self._thread is None or self._loop is None:
            raise StoreClosed("the store is not open")
        future: asyncio.Future[T] = self._loop.create_future()
        self._queue.put(_Job(fn, write, future))
        return await future

    # -- RoomStore ---------------------------------------------------------

    async def create_room(self, room: Room, claim: IdempotencyClaim | None,
                          events: Sequence[RoomEvent] = ()) -> Stored[Room]:
        def run(conn: sqlite3.Connection) -> Stored[Room]:
            if claim is not None:
                existing = _claimed(conn, claim, to_micros(room.created_at))
                if existing is not None:
                    found = _load_room(conn, existing, claim.tenant)
                    if found is None:
                        raise NotFound("the room of this Idempotency-Key is gone")
                    return Stored(found, True)
            conn.execute(
                "INSERT INTO rooms (id, tenant, title, kind, model, starts_us, ends_us, external_ref, status,"
                " created_us, updated_us, cancelled_us, version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    room.id,
                    room.tenant,
                    room.title,
                    room.kind.value,
                    room.model.value,
                    to_micros(room.starts_at),
                    to_micros(room.ends_at),
                    room.external_ref,
                    room.status.value,
                    to_micros(room.created_at),
                    to_micros(room.updated_at),
                    None if room.cancelled_at is None else to_micros(room.cancelled_at),
                    room.version,
                ),
            )
            for seq, p in enumerate(room.participants):
                _insert_participant(conn, p, seq)
            if claim is not None:
                _record_claim(conn, claim, room.id, to_micros(room.created_at))
            self._append(conn, events)
            return Stored(room, False)

        return await self._call(run, write=True)

    async def get_room(self, room_id: str, tenant: str | None = None) -> Room | None:
        return await self._call(lambda c: _load_room(c, room_id, tenant), write=False)

    async def list_rooms(self, query: RoomQuery) -> RoomPage:
        def run(conn: sqlite3.Connection) -> RoomPage:
            where = ["tenant = ?"]
            args: list[Any] = [query.tenant]
            if query.ends_after is not None:
                where.append("ends_us > ?")
                args.append(to_micros(query.ends_after))
            if query.starts_before is not None:
                where.append("starts_us < ?")
                args.append(to_micros(query.starts_before))
            if query.external_ref is not None:
                where.append("external_ref = ?")
                args.append(query.external_ref)
            if query.kind is not None:
                where.append("kind = ?")
                args.append(query.kind.value)
            if query.status is not None:
                where.append("status = ?")
                args.append(query.status.value)
            if query.after is not None:
                where.append("(starts_us > ? OR (starts_us = ? AND id > ?))")
                start = to_micros(query.after[0])
                args += [start, start, query.after[1]]
            sql = (
                f"SELECT * FROM rooms WHERE {' AND '.join(where)}"
                " ORDER BY starts_us, id LIMIT ?"
            )
            rows = conn.execute(sql, [*args, query.limit + 1]).fetchall()
            more = len(rows) > query.limit
            rooms = [_room_from_row(conn, row) for row in rows[: query.limit]]
            last = rooms[-1] if more and rooms else None
            return RoomPage(rooms, None if last is None else (last.starts_at, last.id))

        return await self._call(run, write=False)

    async def update_room(self, room: Room, events: Sequence[RoomEvent] = ()) -> Room:
        def run(conn: sqlite3.Connection) -> Room:
            cur = conn.execute(
                "UPDATE rooms SET title=?, kind=?, model=?, starts_us=?, ends_us=?,"
                " external_ref=?, status=?, updated_us=?, cancelled_us=?, version=version+1"
                " WHERE id=? AND tenant=? AND version=?",
                (
                    room.title,
                    room.kind.value,
                    room.model.value,
                    to_micros(room.starts_at),
                    to_micros(room.ends_at),
                    room.external_ref,
                    room.status.value,
                    to_micros(room.updated_at),
                    None if room.cancelled_at is None else to_micros(room.cancelled_at),
                    room.id,
                    room.tenant,
                    room.version,
                ),
            )
            if cur.rowcount == 0:
                if _load_room(conn, room.id, room.tenant) is None:
                    raise NotFound("no such room")
                raise Conflict("the room was changed meanwhile; read it again and retry")
            self._append(conn, events)
            updated = _load_room(conn, room.id, room.tenant)
            assert updated is not None
            return updated

        return await self._call(run, write=True)

    async def add_participant(
        self, tenant: str, participant: Participant, limit: int, claim: IdempotencyClaim | None,
        events: Sequence[RoomEvent] = (), invite: InviteClaim | None = None,
    ) -> Stored[Participant]:
        def run(conn: sqlite3.Connection) -> Stored[Participant]:
            if claim is not None:
                existing = _claimed(conn, claim, to_micros(participant.created_at))
                if existing is not None:
                    row = conn.execute(
                        "SELECT p.* FROM participants p JOIN rooms r ON r.id = p.room_id"
                        " WHERE p.id = ? AND r.tenant = ?",
                        (existing, tenant),
                    ).fetchone()
                    if row is None:
                        raise NotFound("the participant of this Idempotency-Key is gone")
                    return Stored(_participant_from_row(row), True)
            room = conn.execute(
                "SELECT status FROM rooms WHERE id = ? AND tenant = ?",
                (participant.room_id, tenant),
            ).fetchone()
            if room is None:
                raise NotFound("no such room")
            if room["status"] != RoomStatus.SCHEDULED.value:
                raise Conflict(f"the room is {room['status']}")
            people = conn.execute(
                "SELECT COUNT(*) FILTER (WHERE removed_us IS NULL) AS active, COALESCE(MAX(seq), -1) AS top"
                " FROM participants WHERE room_id = ?",
                (participant.room_id,),
            ).fetchone()
            count, top = people["active"], people["top"]
            if count >= limit:
                raise Conflict(f"the room already has its maximum of {limit} participants")
            _insert_participant(conn, participant, top + 1)
            if invite is not None:  # the guest's invite is spent with this insert, or neither happens
                claim_invite(conn, invite, participant.id)
            if claim is not None:
                _record_claim(conn, claim, participant.id, to_micros(participant.created_at))
            self._append(conn, events)
            return Stored(participant, False)

        return await self._call(run, write=True)

    async def remove_participant(
        self, tenant: str, room_id: str, participant_id: str, at: datetime,
        events: Sequence[RoomEvent] = (),
    ) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE participants SET removed_us = ? WHERE id = ? AND room_id = ?"
                " AND removed_us IS NULL"
                " AND room_id IN (SELECT id FROM rooms WHERE tenant = ?)",
                (to_micros(at), participant_id, room_id, tenant),
            )
            if cur.rowcount != 1:
                return False
            self._append(conn, events)
            return True

        return await self._call(run, write=True)

    async def latest_admissions(self, room_ids: Sequence[str]) -> dict[str, AdmissionRecord]:
        def run(conn: sqlite3.Connection) -> dict[str, AdmissionRecord]:
            marks = ",".join("?" * len(room_ids))
            rows = conn.execute(
                f"SELECT a.* FROM admissions a WHERE a.room_id IN ({marks}) AND a.id = ("
                " SELECT MAX(b.id) FROM admissions b"
                " WHERE b.room_id = a.room_id AND b.participant_id = a.participant_id)",
                list(room_ids),
            ).fetchall()
            return {row["participant_id"]: _admission_from_row(row) for row in rows}

        if not room_ids:
            return {}
        return await self._call(run, write=False)

    async def record_events(self, events: Sequence[RoomEvent]) -> None:
        """Append events that announce no stored change of their own (what happens in a live room)."""
        if events:
            await self._call(lambda c: self._append(c, events), write=True)

    async def purge_expired(self, cutoffs: Mapping[Kind, datetime], now: datetime, limit: int) -> list[str]:
        """Erase the details of up to *limit* rooms of each kind in *cutoffs* that ended before its cutoff
        and are not purged yet (rooms.retention); return their ids."""

        def run(conn: sqlite3.Connection) -> list[str]:
            now_us = to_micros(now)
            rows = [row for kind, cutoff in cutoffs.items() for row in conn.execute(
                "SELECT id, tenant, kind FROM rooms WHERE kind = ? AND purged_us IS NULL"
                " AND COALESCE(cancelled_us, ends_us) < ? ORDER BY ends_us, id LIMIT ?",
                (kind.value, to_micros(cutoff), limit))][:limit]
            ids = [row["id"] for row in rows]
            if not ids:
                return []
            marks = ",".join("?" * len(ids))
            conn.execute(f"UPDATE rooms SET title = ?, purged_us = ? WHERE id IN ({marks})", (PURGED, now_us, *ids))
            conn.execute(f"UPDATE participants SET display_name = ? WHERE room_id IN ({marks})", (PURGED, *ids))
            for purger in self.purgers:
                purger(conn, ids)
            self._append(conn, [RoomEvent("room.purged", row["tenant"], row["id"], now, by=SYSTEM,
                                          data={"kind": row["kind"]}) for row in rows])
            return ids

        return await self._call(run, write=True)

    async def audit_trail(self, room_id: str) -> tuple[list[AuditEntry], AuditCheck]:
        """A room's audit entries in order, and the verdict on its chain."""

        def run(conn: sqlite3.Connection) -> tuple[list[AuditEntry], AuditCheck]:
            entries = [_entry_from_row(row) for row in conn.execute(
                "SELECT * FROM events WHERE room_id = ? ORDER BY seq, id", (room_id,))]
            head = conn.execute("SELECT seq, hash FROM audit_heads WHERE room_id = ?", (room_id,)).fetchone()
            return entries, verify(entries, None if head is None else (head["seq"], head["hash"]))

        return await self._call(run, write=False)

    async def audited_rooms(self) -> list[str]:
        """Every room with an audit chain (or the trace of one), for verifying them all."""

        def run(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute("SELECT room_id FROM events UNION SELECT room_id FROM audit_heads ORDER BY 1")
            return [row["room_id"] for row in rows]

        return await self._call(run, write=False)

    async def stats(self) -> StoreStats:
        def run(conn: sqlite3.Connection) -> StoreStats:
            rows = {r["status"]: r["n"] for r in conn.execute(
                "SELECT status, COUNT(*) AS n FROM rooms GROUP BY status")}
            people = conn.execute(
                "SELECT COUNT(*) AS n FROM participants WHERE removed_us IS NULL"
            ).fetchone()["n"]
            return StoreStats(
                rooms_scheduled=rows.get(RoomStatus.SCHEDULED.value, 0),
                rooms_cancelled=rows.get(RoomStatus.CANCELLED.value, 0),
                rooms_ended=rows.get(RoomStatus.ENDED.value, 0),
                participants=people,
            )

        return await self._call(run, write=False)


def _append_events(conn: sqlite3.Connection, events: Sequence[RoomEvent]) -> int:
    """Chain *events* onto their rooms' audit trails, in this transaction (rooms.audit), and queue their
    webhook messages with them (the outbox, rooms.webhooks.outbox); return how many were queued."""
    queued = 0
    for event in events:
        head = conn.execute("SELECT seq, hash FROM audit_heads WHERE room_id = ?", (event.room_id,)).fetchone()
        seq, previous = (1, GENESIS) if head is None else (head["seq"] + 1, head["hash"])
        body = canonical_json(event.as_json())
        digest = chain_hash(previous, seq, body)
        cursor = conn.execute(
            "INSERT INTO events (tenant, room_id, seq, type, at_us, body, prev_hash, hash)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (event.tenant, event.room_id, seq, event.type, to_micros(event.at), body, previous, digest),
        )
        _project_admission(conn, event)
        conn.execute(
            "INSERT INTO audit_heads (room_id, seq, hash) VALUES (?,?,?)"
            " ON CONFLICT (room_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            (event.room_id, seq, digest),
        )
        assert cursor.lastrowid is not None
        queued += queue_deliveries(conn, event, cursor.lastrowid, seq, digest)
    return queued


def _project_admission(conn: sqlite3.Connection, event: RoomEvent) -> None:
    """Keep a host's (or the API's) admit or deny as the participant's admission record too."""
    record = record_of(event)
    if record is None:
        return
    if conn.execute("SELECT 1 FROM participants WHERE id = ? AND room_id = ?",
                    (record.participant_id, record.room_id)).fetchone() is None:
        raise NotFound("no such participant in the room")
    conn.execute(
        "INSERT INTO admissions (room_id, participant_id, outcome, decided_by, at_us) VALUES (?,?,?,?,?)",
        (record.room_id, record.participant_id, record.outcome.value, record.by, to_micros(record.at)),
    )


def _entry_from_row(row: sqlite3.Row) -> AuditEntry:
    return AuditEntry(seq=row["seq"], type=row["type"], at=from_micros(row["at_us"]), body=row["body"],
                      prev_hash=row["prev_hash"], hash=row["hash"])


def _settle(results: list[_Outcome]) -> None:
    for future, value, exc in results:
        if future.done():
            continue
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(value)


def _claimed(conn: sqlite3.Connection, claim: IdempotencyClaim, now_us: int) -> str | None:
    """Return the resource id of an earlier use of this key, or None if unused."""
    conn.execute(
        "DELETE FROM idempotency WHERE created_us < ?",
        (now_us - IDEMPOTENCY_TTL // MICROSECOND,),
    )
    row = conn.execute(
        "SELECT fingerprint, resource_id FROM idempotency"
        " WHERE tenant = ? AND scope = ? AND key = ?",
        (claim.tenant, claim.scope, claim.key),
    ).fetchone()
    if row is None:
        return None
    if row["fingerprint"] != claim.fingerprint:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used with a different request body"
        )
    return str(row["resource_id"])


def _record_claim(
    conn: sqlite3.Connection, claim: IdempotencyClaim, resource_id: str, now_us: int
) -> None:
    conn.execute(
        "INSERT INTO idempotency VALUES (?,?,?,?,?,?)",
        (claim.tenant, claim.scope, claim.key, claim.fingerprint, resource_id, now_us),
    )


def _insert_participant(conn: sqlite3.Connection, p: Participant, seq: int) -> None:
    conn.execute(
        "INSERT INTO participants (id, room_id, display_name, role, party, jti, created_us, removed_us, seq,"
        " invite_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            p.id,
            p.room_id,
            p.display_name,
            p.role.value,
            p.party.value,
            p.jti,
            to_micros(p.created_at),
            None if p.removed_at is None else to_micros(p.removed_at),
            seq,
            p.invite_id,
        ),
    )


def _participant_from_row(row: sqlite3.Row) -> Participant:
    return Participant(
        id=row["id"],
        room_id=row["room_id"],
        display_name=row["display_name"],
        role=Role(row["role"]),
        party=Party(row["party"]),
        jti=row["jti"],
        created_at=from_micros(row["created_us"]),
        removed_at=None if row["removed_us"] is None else from_micros(row["removed_us"]),
        invite_id=row["invite_id"],
    )


def _admission_from_row(row: sqlite3.Row) -> AdmissionRecord:
    return AdmissionRecord(
        room_id=row["room_id"],
        participant_id=row["participant_id"],
        outcome=AdmissionOutcome(row["outcome"]),
        by=row["decided_by"],
        at=from_micros(row["at_us"]),
    )


def _room_from_row(conn: sqlite3.Connection, row: sqlite3.Row) -> Room:
    people = conn.execute(
        "SELECT * FROM participants WHERE room_id = ? ORDER BY seq", (row["id"],)
    ).fetchall()
    return Room(
        id=row["id"],
        tenant=row["tenant"],
        title=row["title"],
        kind=Kind(row["kind"]),
        model=ConferencingModel(row["model"]),
        starts_at=from_micros(row["starts_us"]),
        ends_at=from_micros(row["ends_us"]),
        external_ref=row["external_ref"],
        status=RoomStatus(row["status"]),
        created_at=from_micros(row["created_us"]),
        updated_at=from_micros(row["updated_us"]),
        cancelled_at=None if row["cancelled_us"] is None else from_micros(row["cancelled_us"]),
        version=row["version"],
        purged_at=None if row["purged_us"] is None else from_micros(row["purged_us"]),
        participants=tuple(_participant_from_row(p) for p in people),
    )


def _load_room(conn: sqlite3.Connection, room_id: str, tenant: str | None) -> Room | None:
    if tenant is None:
        row = conn.execute("SELECT * FROM rooms WHERE id = ?", (room_id,)).fetchone()
    else:
        row = conn.execute(
            "SELECT * FROM rooms WHERE id = ? AND tenant = ?", (room_id, tenant)
        ).fetchone()
    return None if row is None else _room_from_row(conn, row)
