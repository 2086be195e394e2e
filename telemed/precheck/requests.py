"""Read a pre-call check result sent by the browser: every bad field is named at once (422)."""

from __future__ import annotations

from typing import Any

from rooms.errors import FieldError, ValidationFailed
from telemed.precheck.verdict import Measurement

__all__ = ["MAX_KBPS", "MAX_RTT_MS", "parse_measurement"]

#: Above these, a measurement is not one (a minute's round trip; 10 Gbit/s up).
MAX_RTT_MS = 60_000
MAX_KBPS = 10_000_000


def _flag(body: dict[str, Any], name: str, errors: list[FieldError], *, nullable: bool = False) -> bool | None:
    value = body.get(name)
    if isinstance(value, bool) or (nullable and value is None and name in body):
        return value
    errors.append(FieldError(f"/{name}", "must be true or false" + (" or null" if nullable else "")))
    return None


def _number(body: dict[str, Any], name: str, limit: int, errors: list[FieldError]) -> int | None:
    """A whole number 0..*limit*, or null (the test got no answer); a finite float is rounded."""
    if name not in body:
        errors.append(FieldError(f"/{name}", f"is required: a number from 0 to {limit}, or null"))
        return None
    value = body[name]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= limit:
        errors.append(FieldError(f"/{name}", f"must be a number from 0 to {limit}, or null"))
        return None
    return round(value)


def parse_measurement(body: Any) -> Measurement:
    """The Measurement of a POSTed JSON object ``{camera, microphone, speaker, rtt_ms, upstream_kbps}``
    (other fields are ignored); raise ValidationFailed listing every bad field."""
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("", "must be a JSON object")])
    errors: list[FieldError] = []
    camera = _flag(body, "camera", errors)
    microphone = _flag(body, "microphone", errors)
    speaker = _flag(body, "speaker", errors, nullable=True)
    rtt_ms = _number(body, "rtt_ms", MAX_RTT_MS, errors)
    upstream_kbps = _number(body, "upstream_kbps", MAX_KBPS, errors)
    if errors:
        raise ValidationFailed(errors)
    assert camera is not None and microphone is not None
    return Measurement(camera=camera, microphone=microphone, speaker=speaker, rtt_ms=rtt_ms,
                       upstream_kbps=upstream_kbps)
