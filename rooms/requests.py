"""Parse API request bodies and query strings into commands, naming every bad field.

Unknown fields in bodies are ignored (CONTRACT.md §2 allows fields beyond the
listed ones), so integrators can send their own metadata without breaking.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any, TypeVar

from rooms.errors import FieldError, ValidationFailed
from rooms.model import (
    EXTERNAL_REF_MAX,
    NAME_MAX,
    TITLE_MAX,
    ConferencingModel,
    Kind,
    Party,
    Role,
    RoomStatus,
    check_text,
)

__all__ = [
    "MAX_PARTICIPANTS_PER_REQUEST",
    "BookingRequest",
    "ListFilters",
    "ParticipantRequest",
    "RoomPatch",
    "parse_booking",
    "parse_list_filters",
    "parse_participant",
    "parse_patch",
]

E = TypeVar("E", bound=StrEnum)
MAX_PARTICIPANTS_PER_REQUEST = 300
UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class ParticipantRequest:
    display_name: str
    role: Role
    party: Party


@dataclass(frozen=True, slots=True)
class BookingRequest:
    title: str
    kind: Kind
    model: ConferencingModel
    starts_at: datetime
    ends_at: datetime
    external_ref: str | None
    participants: tuple[ParticipantRequest, ...]


@dataclass(frozen=True, slots=True)
class RoomPatch:
    """Fields to change; absent ones are None (external_ref: clear_external_ref)."""

    title: str | None = None
    kind: Kind | None = None
    model: ConferencingModel | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    external_ref: str | None = None
    clear_external_ref: bool = False


@dataclass(frozen=True, slots=True)
class ListFilters:
    ends_after: datetime | None
    starts_before: datetime | None
    external_ref: str | None
    kind: Kind | None
    status: RoomStatus | None
    limit: int
    cursor: str | None


class _Reader:
    """Read typed fields out of a JSON object, collecting what is wrong."""

    def __init__(self, data: Mapping[str, Any], prefix: str = "") -> None:
        self.data = data
        self.prefix = prefix
        self.errors: list[FieldError] = []

    def ptr(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def fail(self, name: str, detail: str) -> None:
        self.errors.append(FieldError(self.ptr(name), detail))

    def text(self, name: str, max_len: int, *, required: bool = True, nullable: bool = False) -> Any:
        if name not in self.data:
            if required:
                self.fail(name, "is required")
            return UNSET
        value = self.data[name]
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            self.fail(name, "must be a string")
            return UNSET
        problems = check_text(value, self.ptr(name), max_len)
        if problems:
            self.errors += problems
            return UNSET
        return value

    def enum(self, name: str, enum: type[E], *, required: bool = True) -> Any:
        if name not in self.data:
            if required:
                self.fail(name, "is required")
            return UNSET
        value = self.data[name]
        try:
            return enum(value) if isinstance(value, str) else enum("\0")
        except ValueError:
            self.fail(name, "must be one of: " + ", ".join(m.value for m in enum))
            return UNSET

    def time(self, name: str, *, required: bool = True) -> Any:
        if name not in self.data:
            if required:
                self.fail(name, "is required")
            return UNSET
        value = self.data[name]
        parsed = parse_time(value) if isinstance(value, str) else None
        if parsed is None:
            self.fail(name, "must be an RFC 3339 date-time with seconds and an offset, "
                           "like 2026-12-01T09:00:00+01:00 or 2026-12-01T08:00:00Z")
            return UNSET
        return parsed

    def raise_if_bad(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


# RFC 3339 section 5.6 ``date-time``: full date, ``T``, full time with seconds, an optional
# fraction and an offset (``Z`` or ``±hh:mm``). ASCII digits only; nothing else of ISO 8601
# (week or ordinal dates, basic format, missing seconds, a space for the ``T``).
RFC3339 = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,9}))?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<off_hour>[0-9]{2}):(?P<off_minute>[0-9]{2}))"
)
LIMIT = re.compile(r"[0-9]{1,3}")


def parse_time(value: str) -> datetime | None:
    """Parse a strict RFC 3339 date-time that carries an offset; None when it is not one.

    Fractions beyond microseconds are cut off; a leap second (``:60``) is refused,
    as are years before 1970 or after 9998.
    """
    found = RFC3339.fullmatch(value)
    if found is None:
        return None
    part = {name: int(text) for name, text in found.groupdict().items()
            if text is not None and text.isdigit()}
    fraction = found["fraction"] or ""
    try:
        offset = timedelta(0)
        if found["utc"] is None:
            if part["off_hour"] > 23 or part["off_minute"] > 59:
                return None
            offset = timedelta(hours=part["off_hour"], minutes=part["off_minute"])
            if found["sign"] == "-":
                offset = -offset
        parsed = datetime(
            part["year"], part["month"], part["day"], part["hour"], part["minute"], part["second"],
            int(fraction[:6].ljust(6, "0")), tzinfo=timezone(offset),
        )
    except ValueError:
        return None
    if not 1970 <= parsed.year <= 9998:
        return None
    return parsed


def _object(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("", "the body must be a JSON object")])
    return body


def _participant(reader: _Reader) -> ParticipantRequest | None:
    name = reader.text("display_name", NAME_MAX)
    role = reader.enum("role", Role)
    party = reader.enum("party", Party)
    if UNSET in (name, role, party):
        return None
    return ParticipantRequest(name, role, party)


def parse_participant(body: Any) -> ParticipantRequest:
    reader = _Reader(_object(body))
    result = _participant(reader)
    reader.raise_if_bad()
    assert result is not None
    return result


def _check_order(reader: _Reader, starts: Any, ends: Any) -> None:
    if isinstance(starts, datetime) and isinstance(ends, datetime) and ends <= starts:
        reader.fail("ends_at", "must be after starts_at")


def parse_booking(body: Any) -> BookingRequest:
    reader = _Reader(_object(body))
    title = reader.text("title", TITLE_MAX)
    kind = reader.enum("kind", Kind)
    model = reader.enum("model", ConferencingModel)
    starts = reader.time("starts_at")
    ends = reader.time("ends_at")
    _check_order(reader, starts, ends)
    ref = reader.text("external_ref", EXTERNAL_REF_MAX, required=False, nullable=True)
    people: list[ParticipantRequest] = []
    raw = reader.data.get("participants", [])
    if not isinstance(raw, list):
        reader.fail("participants", "must be an array")
    elif len(raw) > MAX_PARTICIPANTS_PER_REQUEST:
        reader.fail("participants", f"at most {MAX_PARTICIPANTS_PER_REQUEST} per request")
    else:
        for index, item in enumerate(raw):
            if not isinstance(item, dict):
                reader.errors.append(FieldError(f"/participants/{index}", "must be an object"))
                continue
            sub = _Reader(item, f"/participants/{index}")
            person = _participant(sub)
            reader.errors += sub.errors
            if person is not None:
                people.append(person)
    reader.raise_if_bad()
    return BookingRequest(
        title=title,
        kind=kind,
        model=model,
        starts_at=starts,
        ends_at=ends,
        external_ref=None if ref is UNSET else ref,
        participants=tuple(people),
    )


def parse_patch(body: Any) -> RoomPatch:
    reader = _Reader(_object(body))
    title = reader.text("title", TITLE_MAX, required=False)
    kind = reader.enum("kind", Kind, required=False)
    model = reader.enum("model", ConferencingModel, required=False)
    starts = reader.time("starts_at", required=False)
    ends = reader.time("ends_at", required=False)
    _check_order(reader, starts, ends)
    ref = reader.text("external_ref", EXTERNAL_REF_MAX, required=False, nullable=True)
    if "participants" in reader.data:
        reader.fail(
            "participants",
            "cannot be patched; use POST and DELETE on /rooms/{id}/participants",
        )
    reader.raise_if_bad()

    def given(value: Any) -> Any:
        return None if value is UNSET else value

    return RoomPatch(
        title=given(title),
        kind=given(kind),
        model=given(model),
        starts_at=given(starts),
        ends_at=given(ends),
        external_ref=given(ref),
        clear_external_ref=ref is None,
    )


def parse_list_filters(query: Mapping[str, str]) -> ListFilters:
    reader = _Reader(query)
    ends_after = reader.time("from", required=False)
    starts_before = reader.time("to", required=False)
    if isinstance(ends_after, datetime) and isinstance(starts_before, datetime):
        if starts_before <= ends_after:
            reader.fail("to", "must be after from")
    ref = reader.text("external_ref", EXTERNAL_REF_MAX, required=False)
    kind = reader.enum("kind", Kind, required=False)
    status = reader.enum("status", RoomStatus, required=False)
    limit = 50
    if "limit" in query:
        raw = query["limit"]
        if LIMIT.fullmatch(raw) is None or not 1 <= int(raw) <= 200:
            reader.fail("limit", "must be an integer from 1 to 200")
        else:
            limit = int(raw)
    cursor = query.get("cursor")
    reader.raise_if_bad()

    def given(value: Any) -> Any:
        return None if value is UNSET else value

    return ListFilters(
        ends_after=given(ends_after),
        starts_before=given(starts_before),
        external_ref=given(ref),
        kind=given(kind),
        status=given(status),
        limit=limit,
        cursor=cursor,
    )
