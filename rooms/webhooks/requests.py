"""Parse the webhook API's bodies and queries, naming every bad field (422 problems)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from yarl import URL

from rooms.errors import FieldError, ValidationFailed
from rooms.events import EVENT_TYPES
from rooms.text import has_surrogate
from rooms.webhooks.model import MessageStatus

__all__ = ["URL_MAX", "EndpointRequest", "MessageFilters", "encode_message_cursor", "parse_endpoint",
           "parse_message_filters"]

URL_MAX = 2048


@dataclass(frozen=True, slots=True)
class EndpointRequest:
    """A new endpoint: its URL (parsed) and the event types it wants (None: every type)."""

    url: URL
    event_types: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class MessageFilters:
    status: MessageStatus | None
    limit: int
    before: int | None


def _url(value: Any) -> tuple[URL | None, str | None]:
    """The URL, or why it is not one webhooks can call."""
    if not isinstance(value, str):
        return None, "must be a string"
    if not 1 <= len(value) <= URL_MAX:
        return None, f"must be 1 to {URL_MAX} characters"
    if has_surrogate(value) or not value.isprintable() or any(c.isspace() for c in value):
        return None, "must be a URL without spaces or control characters"
    try:
        url = URL(value)
        port = url.port
        host = url.raw_host
    except (ValueError, UnicodeError):
        return None, "is not a URL"
    if url.scheme not in ("http", "https"):
        return None, "must be an http:// or https:// URL (use https in production)"
    if not host or not url.is_absolute():
        return None, "must name a host"
    if url.raw_fragment:
        return None, "must not carry a #fragment"
    if port is None or not 0 < port < 65536:
        return None, "has a port out of range"
    return url, None


def _event_types(value: Any) -> tuple[tuple[str, ...] | None, list[FieldError]]:
    if value is None:
        return None, []
    if not isinstance(value, list) or not value:
        return None, [FieldError("/event_types", "must be a non-empty array of event types, or null for every type")]
    errors = [FieldError(f"/event_types/{i}", "is not an event type (see docs/api.md, \"Webhooks\")")
              for i, item in enumerate(value) if not isinstance(item, str) or item not in EVENT_TYPES]
    if errors:
        return None, errors
    return tuple(dict.fromkeys(value)), []


def parse_endpoint(body: Any) -> EndpointRequest:
    """``{"url": …, "event_types": [...] | null}``; unknown fields are ignored, like elsewhere."""
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("", "the body must be a JSON object")])
    errors: list[FieldError] = []
    url: URL | None = None
    if "url" not in body:
        errors.append(FieldError("/url", "is required"))
    else:
        url, problem = _url(body["url"])
        if problem is not None:
            errors.append(FieldError("/url", problem))
    types, type_errors = _event_types(body.get("event_types"))
    errors += type_errors
    if errors:
        raise ValidationFailed(errors)
    assert url is not None
    return EndpointRequest(url, types)


def encode_message_cursor(before: int) -> str:
    return base64.urlsafe_b64encode(f"m:{before}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError):
        return None
    tag, _, number = raw.partition(":")
    if tag != "m" or not number.isascii() or not number.isdigit() or len(number) > 18:
        return None
    return int(number)


def parse_message_filters(query: Mapping[str, str]) -> MessageFilters:
    """``status``, ``limit`` (1 to 200, default 50) and ``cursor`` of the delivery log."""
    errors: list[FieldError] = []
    status = None
    if "status" in query:
        try:
            status = MessageStatus(query["status"])
        except ValueError:
            errors.append(FieldError("/status", "must be one of: " + ", ".join(s.value for s in MessageStatus)))
    limit = 50
    if "limit" in query:
        raw = query["limit"]
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= 200):
            errors.append(FieldError("/limit", "must be an integer from 1 to 200"))
        else:
            limit = int(raw)
    before = None
    if "cursor" in query:
        before = _decode_cursor(query["cursor"])
        if before is None:
            errors.append(FieldError("/cursor", "is not a cursor this API issued"))
    if errors:
        raise ValidationFailed(errors)
    return MessageFilters(status, limit, before)
