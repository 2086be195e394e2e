"""The durable outbox of webhook messages, on the room store's SQLite file.

`queue_deliveries` runs inside the transaction that appends an event to its room's
audit chain (`rooms.sqlite_store`): the event and its messages (one per enabled
endpoint of the tenant that wants the type) are committed together or not at all.
The dispatcher then claims due messages (``pending`` → ``sending``), and settles
each attempt (the attempt logged; the message delivered, rescheduled or failed).
Messages left ``sending`` by a crash are pending again at the next start (`recover`),
so delivery is at least once.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from rooms.clock import from_micros, to_micros
from rooms.events import RoomEvent
from rooms.webhooks.model import Attempt, AttemptOutcome, MessageStatus
from rooms.webhooks.payload import event_payload

__all__ = ["Claim", "Executor", "Outbox", "OutboxStats", "Round", "new_message_id", "queue_deliveries",
           "wanted"]

T = TypeVar("T")


class Executor(Protocol):
    """Runs a function on the store's connection, in its thread (one transaction when *write*, with
    *events* appended in it)."""

    async def execute(self, fn: Callable[[sqlite3.Connection], T], *, write: bool,
                      events: Sequence[RoomEvent] = ()) -> T: ...


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def wanted(event_types: str | None, event_type: str) -> bool:
    """Whether an endpoint whose stored ``event_types`` column is *event_types* wants *event_type*."""
    return event_types is None or event_type in json.loads(event_types)


def queue_message(conn: sqlite3.Connection, endpoint_id: str, event_id: int | None, type_: str, payload: str,
                  at_us: int) -> str:
    """Insert one pending message, due at *at_us*; return its ``webhook-id``."""
    message_id = new_message_id()
    conn.execute(
        "INSERT INTO webhook_messages (message_id, endpoint_id, event_id, type, payload, status, attempts,"
        " round_attempts, next_attempt_us, created_us, updated_us) VALUES (?,?,?,?,?,?,0,0,?,?,?)",
        (message_id, endpoint_id, event_id, type_, payload, MessageStatus.PENDING.value, at_us, at_us, at_us),
    )
    return message_id


def queue_deliveries(conn: sqlite3.Connection, event: RoomEvent, event_id: int, seq: int, audit_hash: str) -> int:
    """Queue *event* (row *event_id*, entry *seq* with *audit_hash*) for every enabled endpoint of its
    tenant that wants its type, in the caller's transaction; return how many messages were queued."""
    rows = conn.execute("SELECT id, event_types FROM webhook_endpoints WHERE tenant = ? AND enabled = 1"
                        " ORDER BY created_us, id", (event.tenant,)).fetchall()
    targets = [row["id"] for row in rows if wanted(row["event_types"], event.type)]
    if targets:
        payload = event_payload(event, seq, audit_hash)
        for endpoint_id in targets:
            queue_message(conn, endpoint_id, event_id, event.type, payload, to_micros(event.at))
    return len(targets)


@dataclass(frozen=True, slots=True)
class Claim:
    """A message taken for one attempt, with what sending it needs."""

    pk: int
    message_id: str
    endpoint_id: str
    url: str
    payload: str
    secrets: tuple[str, ...]
    round_attempts: int


@dataclass(frozen=True, slots=True)
class Round:
    """What one dispatcher round claimed, and when the next message it could start is due (None: none)."""

    claims: list[Claim]
    next_due: datetime | None


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """Messages waiting (pending or being sent) and when the oldest of them was queued."""

    pending: int
    oldest: datetime | None


def _signing(row: sqlite3.Row, now_us: int) -> tuple[str, ...]:
    until = row["previous_secret_until_us"]
    if row["previous_secret"] is not None and until is not None and now_us < until:
        return (row["secret"], row["previous_secret"])
    return (row["secret"],)


class Outbox:
    """Claims and settles messages for the dispatcher (the only writer of ``sending``)."""

    def __init__(self, store: Executor) -> None:
        self.store = store

    async def recover(self, now: datetime) -> int:
        """At start: every message left ``sending`` (the node stopped mid-attempt) is due again now,
        its interrupted attempt logged and counted. Returns how many."""

        def run(conn: sqlite3.Connection) -> int:
            now_us = to_micros(now)
            rows = conn.execute("SELECT id FROM webhook_messages WHERE status = ?",
                                (MessageStatus.SENDING.value,)).fetchall()
            for row in rows:
                conn.execute("INSERT INTO webhook_attempts (message_id, at_us, outcome, status_code, latency_us,"
                             " error) VALUES (?,?,?,NULL,0,?)",
                             (row["id"], now_us, AttemptOutcome.INTERRUPTED.value,
                              "the node stopped during this attempt"))
                conn.execute("UPDATE webhook_messages SET status = ?, attempts = attempts + 1,"
                             " round_attempts = round_attempts + 1, next_attempt_us = ?, updated_us = ?"
                             " WHERE id = ?", (MessageStatus.PENDING.value, now_us, now_us, row["id"]))
            return len(rows)

        return await self.store.execute(run, write=True)

    async def claim(self, now: datetime, busy: Mapping[str, int], per_endpoint: int, limit: int) -> Round:
        """Take up to *limit* due messages, oldest due first, at most *per_endpoint* in flight per
        endpoint counting the *busy* ones; mark them ``sending``. The round also says when the next
        message of an endpoint with a free place is due: one store call per dispatcher round, not two."""

        def run(conn: sqlite3.Connection) -> Round:
            taken = claim_due(conn, now, busy, per_endpoint, limit)
            counts = Counter(busy)
            counts.update(c.endpoint_id for c in taken)
            return Round(taken, earliest_due(conn, [e for e, n in counts.items() if n >= per_endpoint]))

        return await self.store.execute(run, write=True)

    async def settle(self, claim: Claim, attempt: Attempt, next_attempt: datetime | None) -> None:
        """Log *attempt* and move the message on: delivered, rescheduled at *next_attempt*, or failed;
        a ``gone`` outcome also disables the endpoint and cancels its other waiting messages."""

        def run(conn: sqlite3.Connection) -> None:
            at_us = to_micros(attempt.at)
            found = conn.execute("SELECT e.enabled FROM webhook_messages m JOIN webhook_endpoints e"
                                 " ON e.id = m.endpoint_id WHERE m.id = ? AND m.status = ?",
                                 (claim.pk, MessageStatus.SENDING.value)).fetchone()
            if found is None:
                return  # deleted with its endpoint meanwhile
            conn.execute("INSERT INTO webhook_attempts (message_id, at_us, outcome, status_code, latency_us, error)"
                         " VALUES (?,?,?,?,?,?)",
                         (claim.pk, at_us, attempt.outcome.value, attempt.status_code,
                          attempt.latency // timedelta(microseconds=1), attempt.error))
            status = {AttemptOutcome.DELIVERED: MessageStatus.DELIVERED,
                      AttemptOutcome.RETRY: MessageStatus.PENDING}.get(attempt.outcome, MessageStatus.FAILED)
            if status is MessageStatus.PENDING and not found["enabled"]:
                status, next_attempt_us = MessageStatus.CANCELLED, None  # disabled while this attempt ran
            else:
                next_attempt_us = None if next_attempt is None else to_micros(next_attempt)
            conn.execute("UPDATE webhook_messages SET status = ?, attempts = attempts + 1,"
                         " round_attempts = round_attempts + 1, next_attempt_us = ?, updated_us = ? WHERE id = ?",
                         (status.value, next_attempt_us, at_us, claim.pk))
            if attempt.outcome is AttemptOutcome.GONE:
                disable(conn, claim.endpoint_id, f"the endpoint answered 410 Gone at {attempt.at.isoformat()}",
                        at_us)

        await self.store.execute(run, write=True)

    async def stats(self) -> OutboxStats:
        def run(conn: sqlite3.Connection) -> OutboxStats:
            row = conn.execute("SELECT COUNT(*) AS n, MIN(created_us) AS oldest FROM webhook_messages"
                               " WHERE status IN (?, ?)",
                               (MessageStatus.PENDING.value, MessageStatus.SENDING.value)).fetchone()
            return OutboxStats(row["n"], None if row["oldest"] is None else from_micros(row["oldest"]))

        return await self.store.execute(run, write=False)


def claim_due(conn: sqlite3.Connection, now: datetime, busy: Mapping[str, int], per_endpoint: int,
              limit: int) -> list[Claim]:
    """The claim of `Outbox.claim`, in the caller's transaction.

    Per enabled endpoint with a free place and something due, its next due messages (by the
    ``webhook_messages_due_by_endpoint`` index: the cost grows with the endpoints, not the backlog);
    then the oldest due of all those first, up to *limit*."""
    now_us = to_micros(now)
    pending = MessageStatus.PENDING.value
    endpoints = conn.execute(
        "SELECT e.id, e.url, e.secret, e.previous_secret, e.previous_secret_until_us FROM webhook_endpoints e"
        " WHERE e.enabled = 1 AND EXISTS (SELECT 1 FROM webhook_messages m WHERE m.endpoint_id = e.id"
        " AND m.status = ? AND m.next_attempt_us <= ?)", (pending, now_us)).fetchall()
    due: list[tuple[int, int, Claim]] = []
    for endpoint in endpoints:
        free = per_endpoint - busy.get(endpoint["id"], 0)
        if free <= 0:
            continue
        signing = _signing(endpoint, now_us)
        for row in conn.execute(
                "SELECT id, message_id, payload, round_attempts, next_attempt_us FROM webhook_messages"
                " WHERE endpoint_id = ? AND status = ? AND next_attempt_us <= ? ORDER BY next_attempt_us, id"
                " LIMIT ?", (endpoint["id"], pending, now_us, free)):
            due.append((row["next_attempt_us"], row["id"], Claim(row["id"], row["message_id"], endpoint["id"],
                                                                 endpoint["url"], row["payload"], signing,
                                                                 row["round_attempts"])))
    due.sort(key=lambda item: (item[0], item[1]))
    taken = [claim for _, _, claim in due[:limit]]
    conn.executemany("UPDATE webhook_messages SET status = ?, updated_us = ? WHERE id = ?",
                     [(MessageStatus.SENDING.value, now_us, c.pk) for c in taken])
    return taken


def earliest_due(conn: sqlite3.Connection, excluding: Collection[str]) -> datetime | None:
    """When the earliest pending message of an enabled endpoint not in *excluding* is due (one index
    seek per endpoint)."""
    marks = ",".join("?" * len(excluding))
    row = conn.execute(
        "SELECT MIN((SELECT MIN(m.next_attempt_us) FROM webhook_messages m WHERE m.endpoint_id = e.id"
        " AND m.status = ?)) AS due FROM webhook_endpoints e"
        f" WHERE e.enabled = 1 AND e.id NOT IN ({marks})",
        (MessageStatus.PENDING.value, *excluding)).fetchone()
    return None if row["due"] is None else from_micros(row["due"])


def disable(conn: sqlite3.Connection, endpoint_id: str, reason: str, at_us: int) -> None:
    """Disable an endpoint and cancel its messages still waiting (in the caller's transaction)."""
    conn.execute("UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?, updated_us = ? WHERE id = ?",
                 (reason, at_us, endpoint_id))
    conn.execute("UPDATE webhook_messages SET status = ?, next_attempt_us = NULL, updated_us = ?"
                 " WHERE endpoint_id = ? AND status = ?",
                 (MessageStatus.CANCELLED.value, at_us, endpoint_id, MessageStatus.PENDING.value))
