"""Clinics: units of a tenant with their clinicians and their versioned consent text.

A clinic groups visits (consultation rooms booked for it, `telemed.visits`) and
the clinicians who share its waiting queue (`telemed.clinic_queue`). Clinicians
are named by the scheduling system's own opaque ids; their display names are
shown to patients and colleagues, never logged. A clinic's consent to the
teleconsultation is versioned: each new text is version n + 1, old versions are
kept (a patient's acceptance names the version it accepted), and a clinic takes
visits only once it has one.

This module holds the values and the parsing of the API's bodies (every bad
field named, like `rooms.requests`); `telemed.clinic_store` keeps them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rooms.errors import FieldError, ValidationFailed
from rooms.model import EXTERNAL_REF_MAX, NAME_MAX, TITLE_MAX, check_text
from rooms.requests import parse_time
from rooms.text import has_surrogate

__all__ = [
    "CLINICIANS_MAX",
    "CLINICIAN_ID_MAX",
    "CONSENT_TEXT_MAX",
    "Clinic",
    "ClinicRequest",
    "Clinician",
    "ConsentRequest",
    "ConsentVersion",
    "DashboardLinkRequest",
    "VisitRequest",
    "parse_clinic",
    "parse_consent",
    "parse_dashboard_link",
    "parse_visit",
]

#: Clinicians one clinic may list (removed ones are kept but do not count).
CLINICIANS_MAX = 200
#: An id of the scheduling system: short, printable, one line.
CLINICIAN_ID_MAX = 200
#: A consent text: a few paragraphs, not a book.
CONSENT_TEXT_MAX = 20_000
#: A language tag (BCP 47, the common shapes): ``pl``, ``en``, ``pl-PL``, ``uk``.
LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}")
#: How long a dashboard link lasts, by default and at most (minutes).
DASHBOARD_TTL_DEFAULT = 8 * 60
DASHBOARD_TTL_MAX = 12 * 60
# Characters a consent text must not hold: controls but the line breaks and tab, bidi overrides and
# isolates (they reorder what is shown), lone surrogates, noncharacters.
_FORBIDDEN_IN_TEXT = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]"
)


@dataclass(frozen=True, slots=True)
class Clinician:
    """A clinician of a clinic: the scheduling system's id and the name shown on screens."""

    id: str
    display_name: str


@dataclass(frozen=True, slots=True)
class Clinic:
    """A clinic of *tenant* with its active clinicians (in the order last given) and the number of its
    current consent version (None: no consent text yet, so no visits)."""

    id: str
    tenant: str
    name: str
    clinicians: tuple[Clinician, ...]
    consent_version: int | None
    created_at: datetime
    updated_at: datetime

    def clinician(self, clinician_id: str) -> Clinician | None:
        return next((c for c in self.clinicians if c.id == clinician_id), None)


@dataclass(frozen=True, slots=True)
class ConsentVersion:
    """One version of a clinic's consent text."""

    clinic_id: str
    version: int
    text: str
    language: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ClinicRequest:
    name: str
    clinicians: tuple[Clinician, ...]


@dataclass(frozen=True, slots=True)
class ConsentRequest:
    text: str
    language: str


@dataclass(frozen=True, slots=True)
class VisitRequest:
    """A visit to book: the slot, the patient's name, optionally the clinician, a title, a reference."""

    starts_at: datetime
    ends_at: datetime
    patient_name: str
    clinician_id: str | None
    title: str | None
    external_ref: str | None


@dataclass(frozen=True, slots=True)
class DashboardLinkRequest:
    ttl: timedelta


class _Fields:
    """Read typed fields out of a JSON object, collecting what is wrong (pointers under *prefix*)."""

    def __init__(self, data: Any, prefix: str = "") -> None:
        self.prefix = prefix
        self.errors: list[FieldError] = []
        if isinstance(data, dict):
            self.data: Mapping[str, Any] = data
        else:
            self.data = {}
            self.errors.append(FieldError(prefix, "must be a JSON object"))

    def fail(self, name: str, detail: str) -> None:
        self.errors.append(FieldError(f"{self.prefix}/{name}", detail))

    def line(self, name: str, max_len: int, *, required: bool = True) -> str | None:
        """A one-line visible text field (rooms.text's rules)."""
        value = self.data.get(name)
        if value is None:
            if required:
                self.fail(name, "is required")
            return None
        if not isinstance(value, str):
            self.fail(name, "must be a string")
            return None
        problems = check_text(value, f"{self.prefix}/{name}", max_len)
        self.errors += problems
        return None if problems else value

    def time(self, name: str) -> datetime | None:
        value = self.data.get(name)
        parsed = parse_time(value) if isinstance(value, str) else None
        if parsed is None:
            self.fail(name, "is required, an RFC 3339 date-time with seconds and an offset, "
                            "like 2026-12-01T09:00:00+01:00")
        return parsed

    def raise_if_bad(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def _clinicians(fields: _Fields) -> tuple[Clinician, ...]:
    raw = fields.data.get("clinicians", [])
    if not isinstance(raw, list):
        fields.fail("clinicians", "must be an array")
        return ()
    if len(raw) > CLINICIANS_MAX:
        fields.fail("clinicians", f"at most {CLINICIANS_MAX} clinicians per clinic")
        return ()
    out: list[Clinician] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        sub = _Fields(item, f"{fields.prefix}/clinicians/{index}")
        cid = sub.line("id", CLINICIAN_ID_MAX)
        name = sub.line("display_name", NAME_MAX)
        fields.errors += sub.errors
        if cid is not None and cid in seen:
            fields.errors.append(FieldError(f"/clinicians/{index}/id", "appears twice in this clinic"))
        elif cid is not None and name is not None:
            seen.add(cid)
            out.append(Clinician(cid, name))
    return tuple(out)


def parse_clinic(body: Any) -> ClinicRequest:
    """``POST /clinics`` and ``PUT /clinics/{id}``: a name and the whole list of clinicians."""
    fields = _Fields(body)
    name = fields.line("name", TITLE_MAX)
    clinicians = _clinicians(fields) if isinstance(body, dict) else ()
    fields.raise_if_bad()
    assert name is not None
    return ClinicRequest(name, clinicians)


def consent_text_problem(value: str) -> str | None:
    """What is wrong with *value* as a consent text (several lines of visible text), or None."""
    if _FORBIDDEN_IN_TEXT.search(value) or has_surrogate(value):
        return "must not contain control (but line breaks), bidirectional-override or non-characters"
    if not value.strip():
        return "must not be empty"
    return None


def parse_consent(body: Any) -> ConsentRequest:
    """``POST /clinics/{id}/consent``: the text (line breaks allowed) and its language."""
    fields = _Fields(body)
    text = fields.data.get("text")
    if not isinstance(text, str):
        fields.fail("text", "is required, a string")
    elif len(text) > CONSENT_TEXT_MAX:
        fields.fail("text", f"must be at most {CONSENT_TEXT_MAX} characters")
    elif (problem := consent_text_problem(text)) is not None:
        fields.fail("text", problem)
    language = fields.data.get("language")
    if not isinstance(language, str) or len(language) > 35 or LANGUAGE.fullmatch(language) is None:
        fields.fail("language", "is required, a language tag like pl or en-GB")
    fields.raise_if_bad()
    assert isinstance(text, str) and isinstance(language, str)
    return ConsentRequest(text, language)


def parse_visit(body: Any) -> VisitRequest:
    """``POST /clinics/{id}/visits``: starts_at, ends_at, patient {display_name}, clinician_id?, title?,
    external_ref?."""
    fields = _Fields(body)
    starts = fields.time("starts_at")
    ends = fields.time("ends_at")
    if starts is not None and ends is not None and ends <= starts:
        fields.fail("ends_at", "must be after starts_at")
    patient = _Fields(fields.data.get("patient"), "/patient") if "patient" in fields.data else None
    name = None
    if patient is None:
        fields.fail("patient", "is required, an object with display_name")
    else:
        name = patient.line("display_name", NAME_MAX)
        fields.errors += patient.errors
    clinician = fields.line("clinician_id", CLINICIAN_ID_MAX, required=False)
    title = fields.line("title", TITLE_MAX, required=False)
    ref = fields.line("external_ref", EXTERNAL_REF_MAX, required=False)
    fields.raise_if_bad()
    assert starts is not None and ends is not None and name is not None
    return VisitRequest(starts, ends, name, clinician, title, ref)


def parse_dashboard_link(body: Any) -> DashboardLinkRequest:
    """``POST …/dashboard-link``: optionally ``ttl_minutes`` (5 to 720; 480 when absent)."""
    fields = _Fields(body)
    ttl = fields.data.get("ttl_minutes", DASHBOARD_TTL_DEFAULT)
    if type(ttl) is not int or not 5 <= ttl <= DASHBOARD_TTL_MAX:
        fields.fail("ttl_minutes", f"must be a whole number of minutes from 5 to {DASHBOARD_TTL_MAX}")
        ttl = DASHBOARD_TTL_DEFAULT
    fields.raise_if_bad()
    return DashboardLinkRequest(timedelta(minutes=ttl))
