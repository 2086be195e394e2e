"""Domain errors that carry their HTTP status; mapped to problem+json at the edge only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

__all__ = [
    "Conflict",
    "DomainError",
    "FieldError",
    "IdempotencyConflict",
    "NotFound",
    "ParticipantRemoved",
    "RoomCancelled",
    "RoomEnded",
    "TokenExpired",
    "TokenInvalid",
    "TokenNotYetValid",
    "Unauthorized",
    "ValidationFailed",
]


@dataclass(frozen=True, slots=True)
class FieldError:
    """One bad field: a JSON pointer into the request and what is wrong with it."""

    pointer: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "detail": self.detail}


class DomainError(Exception):
    """Base of errors that the edge turns into an HTTP problem or a socket error event."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"
    #: Seconds after which a retry may succeed (a ``Retry-After`` header), for 429 and 503.
    retry_after: ClassVar[int | None] = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ValidationFailed(DomainError):
    """The request names values that are not acceptable; every bad field is listed."""

    status = 422
    slug = "validation-error"
    title = "The request has invalid fields"

    def __init__(self, errors: list[FieldError]) -> None:
        fields = ", ".join(e.pointer or "/" for e in errors)
        super().__init__(f"{len(errors)} invalid field(s): {fields}")
        self.errors = errors


class Unauthorized(DomainError):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"


class NotFound(DomainError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    slug = "conflict"
    title = "Conflict with the current state"


class IdempotencyConflict(DomainError):
    """An Idempotency-Key was reused with a different request body."""

    status = 422
    slug = "idempotency-key-reused"
    title = "Idempotency-Key reused with a different request"


class TokenInvalid(DomainError):
    """Malformed, forged or superseded join token."""

    status = 401
    slug = "invalid-token"
    title = "The join token is not valid"


class TokenExpired(DomainError):
    """The join token's window has closed."""

    status = 401
    slug = "token-expired"
    title = "The join token has expired"


class TokenNotYetValid(DomainError):
    """The join token's window has not opened yet; carries when it opens."""

    status = 403
    slug = "too-early"
    title = "The meeting is not open yet"

    def __init__(self, detail: str, opens_at_iso: str) -> None:
        super().__init__(detail)
        self.opens_at_iso = opens_at_iso


class RoomCancelled(DomainError):
    status = 410
    slug = "room-cancelled"
    title = "The meeting was cancelled"


class RoomEnded(DomainError):
    status = 410
    slug = "room-ended"
    title = "The meeting has ended"


class ParticipantRemoved(DomainError):
    status = 410
    slug = "participant-removed"
    title = "This invitation was withdrawn"
