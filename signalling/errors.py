"""The errors of live rooms and their edges: each class carries its HTTP status and socket code.

An error is raised where the rule is (a live room, a room service, an edge) and
mapped once per edge: the HTTP edge answers problem+json from ``status``,
``slug``, ``title`` and ``retry_after`` (``rooms.problem``); the Socket.IO edge
answers an ``error`` event with ``code``. The worker link carries these classes by
name (``KNOWN``), so an error raised in a media worker reaches the edge as itself,
while anything else stays an unexpected failure, logged with its traceback.
"""

from __future__ import annotations

from typing import ClassVar

from rooms.errors import DomainError
from sfu import InvalidAnswer, InvalidOffer, NoCandidates, SfuError

__all__ = [
    "KNOWN",
    "BadRequest",
    "BadSdp",
    "ChatRateLimited",
    "Denied",
    "Forbidden",
    "InviteRefused",
    "LiveError",
    "NegotiationInProgress",
    "NoOfferPending",
    "NotJoined",
    "NotPublishing",
    "NotWaiting",
    "RateLimited",
    "RecordingConsentMissing",
    "ScreenInUse",
    "ServerBusy",
    "SessionEnded",
    "TooManySessions",
    "UnknownChatMessage",
    "known_errors",
    "socket_code",
]


class LiveError(DomainError):
    """Base of live-room errors: a DomainError (HTTP status) with a Socket.IO code."""

    code: ClassVar[str] = "bad_request"


class BadRequest(LiveError):
    """A message of the wrong shape; the detail names the field."""

    status = 400
    slug = "bad-request"
    title = "Bad request"
    code = "bad_request"


class BadSdp(LiveError):
    status = 400
    slug = "invalid-sdp"
    title = "The SDP cannot be used"
    code = "invalid_sdp"


class Forbidden(LiveError):
    """The member's role (or state) does not allow this action."""

    status = 403
    slug = "forbidden"
    title = "This role may not do this"
    code = "forbidden"


class Denied(LiveError):
    """A host turned this participant away; their link is refused while the room is live."""

    status = 403
    slug = "denied"
    title = "Not let in"
    code = "denied"


class NotWaiting(LiveError):
    """A lobby action names a participant who is not waiting."""

    status = 409
    slug = "not-waiting"
    title = "That participant is not waiting"
    code = "not_waiting"


class NotJoined(LiveError):
    """The participant is not (or no longer) in the live room."""

    status = 409
    slug = "not-joined"
    title = "Not in the room"
    code = "not_joined"


class ScreenInUse(LiveError):
    """Someone else in the room shares their screen now: one sharer at a time."""

    status = 409
    slug = "screen-in-use"
    title = "Someone else is sharing their screen"
    code = "screen_in_use"


class NotPublishing(LiveError):
    """The participant asked for publishes nothing now."""

    status = 404
    slug = "not-publishing"
    title = "That participant is not publishing"
    code = "not_publishing"


class SessionEnded(LiveError):
    """A WHIP/WHEP session that existed but has ended (revoked, replaced, connection lost)."""

    status = 410
    slug = "session-ended"
    title = "The session has ended"
    code = "session_ended"


class TooManySessions(LiveError):
    """A participant or a room holds as many media sessions as it may."""

    status = 429
    slug = "too-many-sessions"
    title = "Too many media sessions"
    code = "too_many_sessions"
    retry_after = 10


class NegotiationInProgress(LiveError):
    """An earlier offer of this member is still being negotiated."""

    status = 429
    slug = "negotiation-in-progress"
    title = "An earlier negotiation is still in progress"
    code = "negotiation_in_progress"
    retry_after = 1


class RateLimited(LiveError):
    """The client sends messages faster than a person can act."""

    status = 429
    slug = "rate-limited"
    title = "Too many messages"
    code = "rate_limited"
    retry_after = 1


class ChatRateLimited(RateLimited):
    """A participant sends chat messages faster than the room allows (signalling/chat.py)."""

    title = "Too many chat messages"
    retry_after = 10


class UnknownChatMessage(LiveError):
    """A chat action names a message the room does not keep (removed, dropped as old, or never sent)."""

    status = 404
    slug = "unknown-message"
    title = "No such chat message"
    code = "unknown_message"


class InviteRefused(LiveError):
    """A guest invite cannot be made or revoked now (the room's limit of live invites, a used or unknown
    invite, a room no longer scheduled); the detail says which."""

    status = 409
    slug = "invite-refused"
    title = "The invite cannot be made or revoked"
    code = "invite_refused"


class RecordingConsentMissing(LiveError):
    """Recording cannot start: someone in the call has not agreed to be recorded (the detail says how many
    and who, by participant id)."""

    status = 409
    slug = "recording-consent-missing"
    title = "Not everyone present agreed to be recorded"
    code = "recording_consent_missing"


class ServerBusy(LiveError):
    """The media worker is out of resources: new sessions are refused, current ones kept."""

    status = 503
    slug = "server-busy"
    title = "The media server is full"
    code = "server_busy"
    retry_after = 30


def socket_code(exc: Exception) -> str | None:
    """The Socket.IO error code of an expected failure; None for a genuine bug."""
    if isinstance(exc, LiveError):
        return exc.code
    if isinstance(exc, InvalidOffer | InvalidAnswer):
        return "invalid_sdp"
    if isinstance(exc, NoCandidates):
        return ServerBusy.code
    if isinstance(exc, DomainError):
        return exc.slug.replace("-", "_")
    return None


class NoOfferPending(LiveError):
    """A subscriber answer came when no offer of ours waits for one."""

    status = 409
    slug = "no-offer-pending"
    title = "No offer waits for an answer"
    code = "bad_request"


def _family(root: type[Exception]) -> list[type[Exception]]:
    out, pending = [], [root]
    while pending:
        cls = pending.pop()
        out.append(cls)
        pending += cls.__subclasses__()
    return out


def known_errors() -> dict[str, type[Exception]]:
    """Expected error classes by name, for the worker link: SFU errors and live-room errors, those a workflow
    package declares too (read when needed: a workflow's module is imported after this one)."""
    return {cls.__name__: cls for cls in _family(SfuError) + _family(LiveError)}


#: The expected error classes of this package (`known_errors` also has the workflows').
KNOWN: dict[str, type[Exception]] = known_errors()
