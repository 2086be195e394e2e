"""The visit's refusals, as live-room errors: each has its HTTP status and Socket.IO code, and crosses
the worker link as itself (`signalling.errors.known_errors`)."""

from __future__ import annotations

from signalling.errors import LiveError

__all__ = ["NotInVisit", "VisitCompleted"]


class VisitCompleted(LiveError):
    """The visit has its outcome already: it is recorded once."""

    status = 409
    slug = "visit-completed"
    title = "The visit is completed already"
    code = "visit_completed"


class NotInVisit(LiveError):
    """The patient named is not where the action needs them (in the call, on hold)."""

    status = 409
    slug = "not-in-visit"
    title = "That patient is not in the visit now"
    code = "not_in_visit"
