"""What the webhook store holds: endpoints, the messages queued for them, and each attempt.

The JSON views here are the API's; an endpoint's secret is never in them (the API
adds it to the answers of creation and rotation only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from rooms.webhooks.signing import ROTATION_OVERLAP

__all__ = ["Attempt", "AttemptOutcome", "Endpoint", "Message", "MessageStatus", "iso"]


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class MessageStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    SENDING = "sending"  # an attempt is in flight (picked up again after a crash)
    DELIVERED = "delivered"  # a 2xx answered
    FAILED = "failed"  # every attempt of its schedule failed, or the endpoint answered 410
    CANCELLED = "cancelled"  # its endpoint was disabled before it was delivered


class AttemptOutcome(StrEnum):
    """How one attempt ended; also the label of ``konsylium_webhook_deliveries_total``."""

    DELIVERED = "delivered"
    RETRY = "retry"  # failed; another attempt is scheduled
    FAILED = "failed"  # failed; the schedule is over
    GONE = "gone"  # 410: the endpoint is disabled
    INTERRUPTED = "interrupted"  # the node stopped during the attempt; tried again at start


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A tenant's destination: where to send, which event types (None: all), and how to sign."""

    id: str
    tenant: str
    url: str
    event_types: tuple[str, ...] | None
    enabled: bool
    disabled_reason: str | None
    secret: str
    previous_secret: str | None
    previous_secret_until: datetime | None
    created_at: datetime
    updated_at: datetime

    def wants(self, event_type: str) -> bool:
        return self.event_types is None or event_type in self.event_types

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets that sign at *now*: the current one, and the previous during the overlap."""
        if self.previous_secret is not None and self.previous_secret_until is not None \
                and now < self.previous_secret_until:
            return [self.secret, self.previous_secret]
        return [self.secret]

    def rotated(self, secret: str, now: datetime, overlap: timedelta = ROTATION_OVERLAP) -> Endpoint:
        """This endpoint after a rotation to *secret* at *now*: the current secret becomes the previous."""
        return Endpoint(self.id, self.tenant, self.url, self.event_types, self.enabled, self.disabled_reason,
                        secret, self.secret, now + overlap, self.created_at, now)

    def as_json(self, now: datetime) -> dict[str, Any]:
        overlap = self.previous_secret_until if len(self.signing_secrets(now)) > 1 else None
        return {"id": self.id, "url": self.url,
                "event_types": None if self.event_types is None else list(self.event_types),
                "enabled": self.enabled, "disabled_reason": self.disabled_reason,
                "previous_secret_expires_at": iso(overlap),
                "created_at": iso(self.created_at), "updated_at": iso(self.updated_at)}


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at sending a message: when, how it ended, the HTTP status (if any answer), how long."""

    at: datetime
    outcome: AttemptOutcome
    status_code: int | None
    latency: timedelta
    error: str | None

    def as_json(self) -> dict[str, Any]:
        return {"at": iso(self.at), "outcome": self.outcome.value, "status_code": self.status_code,
                "latency_ms": round(self.latency / timedelta(milliseconds=1), 3), "error": self.error}


@dataclass(frozen=True, slots=True)
class Message:
    """One event (or test) queued for one endpoint; *message_id* is its ``webhook-id``."""

    pk: int
    message_id: str
    endpoint_id: str
    type: str
    payload: str
    status: MessageStatus
    attempts: int
    round_attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime
    log: tuple[Attempt, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"id": self.message_id, "endpoint_id": self.endpoint_id, "event_type": self.type,
                "status": self.status.value, "payload": json.loads(self.payload),
                "next_attempt_at": iso(self.next_attempt_at) if self.status is MessageStatus.PENDING else None,
                "created_at": iso(self.created_at), "updated_at": iso(self.updated_at),
                "attempts": [a.as_json() for a in self.log]}
