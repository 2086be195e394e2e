"""The thin JSON a webhook delivers: what happened, ids and states only, and its place in the chain.

``{"type", "timestamp", "data": {tenant, room_id, participant_id, by, seq, audit_hash, …}}``
where the rest of ``data`` is the event's own (`rooms.events`: never a name or a
title). ``seq`` orders a room's events; ``audit_hash`` is the event's hash in the
room's audit chain (`rooms.audit`), so integrators keep copies of the chain as it
grew. A receiver that wants more reads the room over the API.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rooms.events import EVENT_TYPES, RoomEvent, canonical_json, register_event_type

__all__ = ["TEST_TYPE", "event_payload", "probe_payload"]

#: The type of the message `POST /api/v1/webhooks/{id}/test` sends (to every endpoint, whatever it asked for).
TEST_TYPE = "webhook.test"
if TEST_TYPE not in EVENT_TYPES:
    register_event_type(TEST_TYPE, "a test message asked for with POST /api/v1/webhooks/{id}/test "
                                   "(data: tenant, endpoint_id)")


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_payload(event: RoomEvent, seq: int, audit_hash: str) -> str:
    """The body delivered for *event*, entry *seq* of its room's chain with hash *audit_hash*."""
    data: dict[str, Any] = dict(event.as_json()["data"])
    data.update({"tenant": event.tenant, "room_id": event.room_id, "participant_id": event.participant_id,
                 "by": event.by, "seq": seq, "audit_hash": audit_hash})
    return canonical_json({"type": event.type, "timestamp": _timestamp(event.at), "data": data})


def probe_payload(tenant: str, endpoint_id: str, at: datetime) -> str:
    """The body of a test message to *endpoint_id*."""
    return canonical_json({"type": TEST_TYPE, "timestamp": _timestamp(at),
                           "data": {"tenant": tenant, "endpoint_id": endpoint_id}})
