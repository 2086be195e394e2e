"""Webhook endpoints and their delivery log on the room store's SQLite file, for the API.

Every read and write is scoped to a tenant: another tenant's endpoint is absent,
exactly like one that does not exist.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from rooms.clock import from_micros, to_micros
from rooms.errors import Conflict, NotFound
from rooms.webhooks.model import Attempt, AttemptOutcome, Endpoint, Message, MessageStatus
from rooms.webhooks.outbox import Executor, disable, queue_message
from rooms.webhooks.payload import TEST_TYPE, probe_payload
from rooms.webhooks.signing import new_secret

__all__ = ["MAX_ENDPOINTS", "MessagePage", "WebhookStore", "new_endpoint_id"]

#: Endpoints one tenant may register (disabled ones count until deleted).
MAX_ENDPOINTS = 20


def new_endpoint_id() -> str:
    return f"ep_{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class MessagePage:
    """Messages newest first, and the position after the last one when there are more."""

    messages: list[Message]
    next_before: int | None


def _endpoint(row: sqlite3.Row) -> Endpoint:
    until = row["previous_secret_until_us"]
    return Endpoint(
        id=row["id"], tenant=row["tenant"], url=row["url"],
        event_types=None if row["event_types"] is None else tuple(json.loads(row["event_types"])),
        enabled=bool(row["enabled"]), disabled_reason=row["disabled_reason"], secret=row["secret"],
        previous_secret=row["previous_secret"], previous_secret_until=None if until is None else from_micros(until),
        created_at=from_micros(row["created_us"]), updated_at=from_micros(row["updated_us"]),
    )


def _attempt(row: sqlite3.Row) -> Attempt:
    return Attempt(at=from_micros(row["at_us"]), outcome=AttemptOutcome(row["outcome"]),
                   status_code=row["status_code"], latency=timedelta(microseconds=row["latency_us"]),
                   error=row["error"])


def _message(conn: sqlite3.Connection, row: sqlite3.Row) -> Message:
    log = tuple(_attempt(a) for a in conn.execute(
        "SELECT * FROM webhook_attempts WHERE message_id = ? ORDER BY id", (row["id"],)))
    return Message(
        pk=row["id"], message_id=row["message_id"], endpoint_id=row["endpoint_id"], type=row["type"],
        payload=row["payload"], status=MessageStatus(row["status"]), attempts=row["attempts"],
        round_attempts=row["round_attempts"],
        next_attempt_at=None if row["next_attempt_us"] is None else from_micros(row["next_attempt_us"]),
        created_at=from_micros(row["created_us"]), updated_at=from_micros(row["updated_us"]), log=log,
    )


def _owned(conn: sqlite3.Connection, tenant: str, endpoint_id: str) -> Endpoint:
    row = conn.execute("SELECT * FROM webhook_endpoints WHERE id = ? AND tenant = ?",
                       (endpoint_id, tenant)).fetchone()
    if row is None:
        raise NotFound("no webhook endpoint with this id")
    return _endpoint(row)


def _owned_message(conn: sqlite3.Connection, tenant: str, endpoint_id: str, message_id: str) -> sqlite3.Row:
    _owned(conn, tenant, endpoint_id)
    row: sqlite3.Row | None = conn.execute("SELECT * FROM webhook_messages WHERE message_id = ? AND endpoint_id = ?",
                                           (message_id, endpoint_id)).fetchone()
    if row is None:
        raise NotFound("no message with this id for this endpoint")
    return row


class WebhookStore:
    """The tenant-facing operations on endpoints and messages."""

    def __init__(self, store: Executor) -> None:
        self.store = store

    async def create(self, tenant: str, url: str, event_types: tuple[str, ...] | None, now: datetime) -> Endpoint:
        """Register an endpoint with a fresh secret; Conflict beyond `MAX_ENDPOINTS`."""

        def run(conn: sqlite3.Connection) -> Endpoint:
            count = conn.execute("SELECT COUNT(*) AS n FROM webhook_endpoints WHERE tenant = ?",
                                 (tenant,)).fetchone()["n"]
            if count >= MAX_ENDPOINTS:
                raise Conflict(f"a tenant may register at most {MAX_ENDPOINTS} webhook endpoints; delete one first")
            endpoint = Endpoint(new_endpoint_id(), tenant, url, event_types, True, None, new_secret(), None, None,
                                now, now)
            conn.execute(
                "INSERT INTO webhook_endpoints (id, tenant, url, event_types, enabled, disabled_reason, secret,"
                " previous_secret, previous_secret_until_us, created_us, updated_us)"
                " VALUES (?,?,?,?,1,NULL,?,NULL,NULL,?,?)",
                (endpoint.id, tenant, url, None if event_types is None else json.dumps(list(event_types)),
                 endpoint.secret, to_micros(now), to_micros(now)),
            )
            return endpoint

        return await self.store.execute(run, write=True)

    async def list(self, tenant: str) -> list[Endpoint]:
        def run(conn: sqlite3.Connection) -> list[Endpoint]:
            return [_endpoint(row) for row in conn.execute(
                "SELECT * FROM webhook_endpoints WHERE tenant = ? ORDER BY created_us, id", (tenant,))]

        return await self.store.execute(run, write=False)

    async def get(self, tenant: str, endpoint_id: str) -> Endpoint:
        return await self.store.execute(lambda c: _owned(c, tenant, endpoint_id), write=False)

    async def delete(self, tenant: str, endpoint_id: str) -> None:
        """Delete an endpoint with its messages and their log (NotFound when absent)."""

        def run(conn: sqlite3.Connection) -> None:
            _owned(conn, tenant, endpoint_id)
            conn.execute("DELETE FROM webhook_endpoints WHERE id = ?", (endpoint_id,))

        await self.store.execute(run, write=True)

    async def rotate(self, tenant: str, endpoint_id: str, now: datetime) -> Endpoint:
        """Give the endpoint a new secret; the current one keeps signing for the overlap."""

        def run(conn: sqlite3.Connection) -> Endpoint:
            rotated = _owned(conn, tenant, endpoint_id).rotated(new_secret(), now)
            assert rotated.previous_secret_until is not None
            conn.execute("UPDATE webhook_endpoints SET secret = ?, previous_secret = ?, previous_secret_until_us = ?,"
                         " updated_us = ? WHERE id = ?",
                         (rotated.secret, rotated.previous_secret, to_micros(rotated.previous_secret_until),
                          to_micros(now), endpoint_id))
            return rotated

        return await self.store.execute(run, write=True)

    async def disable(self, tenant: str, endpoint_id: str, reason: str, now: datetime) -> None:
        def run(conn: sqlite3.Connection) -> None:
            _owned(conn, tenant, endpoint_id)
            disable(conn, endpoint_id, reason, to_micros(now))

        await self.store.execute(run, write=True)

    async def queue_probe(self, tenant: str, endpoint_id: str, now: datetime) -> Message:
        """Queue a ``webhook.test`` message for the endpoint, due now; Conflict when it is disabled."""

        def run(conn: sqlite3.Connection) -> Message:
            endpoint = _owned(conn, tenant, endpoint_id)
            if not endpoint.enabled:
                raise Conflict("the endpoint is disabled; register it again to use it")
            message_id = queue_message(conn, endpoint_id, None, TEST_TYPE, probe_payload(tenant, endpoint_id, now),
                                       to_micros(now))
            return _message(conn, _owned_message(conn, tenant, endpoint_id, message_id))

        return await self.store.execute(run, write=True)

    async def messages(self, tenant: str, endpoint_id: str, status: MessageStatus | None, before: int | None,
                       limit: int) -> MessagePage:
        """The endpoint's messages newest first (before position *before*), each with its attempts."""

        def run(conn: sqlite3.Connection) -> MessagePage:
            _owned(conn, tenant, endpoint_id)
            where, args = ["endpoint_id = ?"], [endpoint_id]
            if status is not None:
                where.append("status = ?")
                args.append(status.value)
            rows = conn.execute(
                f"SELECT * FROM webhook_messages WHERE {' AND '.join(where)}"
                f"{' AND id < ?' if before is not None else ''} ORDER BY id DESC LIMIT ?",
                [*args, *([before] if before is not None else []), limit + 1]).fetchall()
            page = [_message(conn, row) for row in rows[:limit]]
            return MessagePage(page, page[-1].pk if len(rows) > limit else None)

        return await self.store.execute(run, write=False)

    async def message(self, tenant: str, endpoint_id: str, message_id: str) -> Message:
        def run(conn: sqlite3.Connection) -> Message:
            return _message(conn, _owned_message(conn, tenant, endpoint_id, message_id))

        return await self.store.execute(run, write=False)

    async def redeliver(self, tenant: str, endpoint_id: str, message_id: str, now: datetime) -> Message:
        """Make a message due now with a fresh retry schedule (Conflict while an attempt runs or the
        endpoint is disabled)."""

        def run(conn: sqlite3.Connection) -> Message:
            if not _owned(conn, tenant, endpoint_id).enabled:
                raise Conflict("the endpoint is disabled; register it again to use it")
            row = _owned_message(conn, tenant, endpoint_id, message_id)
            if row["status"] == MessageStatus.SENDING.value:
                raise Conflict("an attempt to deliver this message is under way")
            conn.execute("UPDATE webhook_messages SET status = ?, round_attempts = 0, next_attempt_us = ?,"
                         " updated_us = ? WHERE id = ?",
                         (MessageStatus.PENDING.value, to_micros(now), to_micros(now), row["id"]))
            return _message(conn, _owned_message(conn, tenant, endpoint_id, message_id))

        return await self.store.execute(run, write=True)
