"""Room actions as messages: each declared once, as a dataclass, and carried everywhere as itself.

A message is what a participant (or, for some, the integrator through the API)
asks of a live room. Its class is the whole declaration: the Socket.IO event
name, the fields with their types and limits (which drive validation), what it
does and what the acknowledgement carries (which drive the table in
docs/protocol.md, see `protocol_table`). The Socket.IO edge parses an event into
its message, the room service delivers it, the worker link carries it as JSON
(`to_wire`/`from_wire`), and the live room dispatches it to the one handler that
declares it (`handles`). Adding a room action is one message class here and one
handler in the live room.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, TypeVar, Union

from rooms.text import text_problem
from signalling.errors import BadRequest

__all__ = [
    "MESSAGES",
    "SCREEN_MID_MAX",
    "SDP_MAX",
    "Admit",
    "AdmitAll",
    "AskUnmute",
    "ChatRemove",
    "ChatSend",
    "CreateInvite",
    "Deny",
    "EndMeeting",
    "Leave",
    "LiveView",
    "Lock",
    "LowerHand",
    "Message",
    "Mute",
    "MuteParticipant",
    "Publish",
    "RaiseHand",
    "Range",
    "RecordingConsent",
    "RecordingView",
    "RemoveParticipant",
    "RevokeInvite",
    "Sender",
    "SetRole",
    "StartRecording",
    "StopRecording",
    "SubscriberAnswer",
    "Text",
    "Unlock",
    "Unpublish",
    "core_messages",
    "handler_table",
    "handles",
    "message_from_wire",
    "parse_message",
    "protocol_table",
]

M = TypeVar("M", bound="Message")
SDP_MAX = 64 * 1024
#: The longest m-line id (`a=mid`) a `publish` may name as its screen (browsers use a few digits).
SCREEN_MID_MAX = 32


class Sender(StrEnum):
    """Who may send a message: a participant over their socket, or the integrator (REST API)."""

    PARTICIPANT = "participant"
    API = "api"


@dataclass(frozen=True, slots=True)
class Range:
    """A constraint on a whole-number field: from *low* to *high*, both included."""

    low: int
    high: int
    what: str = "a whole number"


@dataclass(frozen=True, slots=True)
class Text:
    """A constraint on a string field: not blank, at most *max_len* characters; *shown* text (read by
    people) also follows the booking API's character rules (no controls, something visible)."""

    max_len: int
    what: str = "text"
    shown: bool = False


class Message:
    """Base of every room message; subclasses are frozen dataclasses registered by `message`."""

    name: ClassVar[str]
    #: what the acknowledgement carries besides ``ok`` (for the docs)
    reply: ClassVar[str] = "`{ok}`"
    #: who may send it
    senders: ClassVar[frozenset[Sender]] = frozenset({Sender.PARTICIPANT})
    #: the sender's socket session ends once it is answered (``leave``)
    ends_session: ClassVar[bool] = False

    def to_wire(self) -> dict[str, Any]:
        """The message as JSON for the worker link (and a Redis relay)."""
        return {"type": self.name, **dataclasses.asdict(self)}  # type: ignore[call-overload]


#: Every message by its name.
MESSAGES: dict[str, type[Message]] = {}


def message(name: str, *, reply: str = "`{ok}`", senders: frozenset[Sender] | None = None,
            ends_session: bool = False) -> Callable[[type[M]], type[M]]:
    """Register a message class under its Socket.IO event *name*."""

    def register(cls: type[M]) -> type[M]:
        if name in MESSAGES:
            raise ValueError(f"message {name!r} is declared twice")
        cls.name = name
        cls.reply = reply
        cls.ends_session = ends_session
        if senders is not None:
            cls.senders = senders
        MESSAGES[name] = cls
        return cls

    return register


# -- the messages ---------------------------------------------------------------------------


@message("publish", reply="`{ok, sdp}` — the answer. A second `publish` replaces the first publish "
         "connection once its offer is answered: a refused offer leaves the current one as it was")
@dataclass(frozen=True, slots=True)
class Publish(Message):
    """An SDP offer for the publish connection. One at a time per participant: another one sent
    before the first is answered is refused with `negotiation_in_progress`. `screen` names the m-line
    (its `a=mid`) whose video is a shared screen, or is left out: at most one screen per participant,
    one sharer per room at a time (`screen_in_use`); a mid the offer sends no video on is refused
    (`bad_request`). Stop sharing by publishing again without it."""

    sdp: Annotated[str, Text(SDP_MAX, "an SDP offer")]
    screen: Annotated[str | None, Text(SCREEN_MID_MAX, "optional, the mid of the shared screen's video m-line")] = None


@message("unpublish")
@dataclass(frozen=True, slots=True)
class Unpublish(Message):
    """Stop publishing."""


@message("subscriber_answer")
@dataclass(frozen=True, slots=True)
class SubscriberAnswer(Message):
    """The answer to the latest `subscriber_offer`."""

    sdp: Annotated[str, Text(SDP_MAX, "an SDP answer")]


@message("mute")
@dataclass(frozen=True, slots=True)
class Mute(Message):
    """Say that the client stopped (or resumed) sending a kind (`track.enabled = false`); the
    others see `participant_updated` when the state changed."""

    kind: Literal["audio", "video"]
    muted: bool


@message("leave", reply="`{ok}`; the server then disconnects the socket and tells the others "
         "(`reason: \"left\"`)", ends_session=True)
@dataclass(frozen=True, slots=True)
class Leave(Message):
    """Leave the room for good (no reconnect grace)."""


HOSTS_AND_API = frozenset({Sender.PARTICIPANT, Sender.API})
PARTICIPANT_ID = Annotated[str, Text(64, "a participant id")]


@message("admit", senders=HOSTS_AND_API)
@dataclass(frozen=True, slots=True)
class Admit(Message):
    """(Hosts) Let a waiting participant into the call; they get `admitted`, the others
    `participant_joined`. `identity_confirmed: true` says the host checked who it is (a consultation's
    "confirm identity and admit"): the `lobby.admitted` event keeps it."""

    participant_id: PARTICIPANT_ID
    identity_confirmed: bool | None = None


@message("admit_all", senders=HOSTS_AND_API)
@dataclass(frozen=True, slots=True)
class AdmitAll(Message):
    """(Hosts) Let everyone waiting in, in arrival order. Never automatic."""


@message("deny", senders=HOSTS_AND_API)
@dataclass(frozen=True, slots=True)
class Deny(Message):
    """(Hosts) Turn a waiting participant away, with an optional message shown to them; their link
    is refused (`denied`) while the room is live unless a host admits them."""

    participant_id: PARTICIPANT_ID
    message: Annotated[str | None, Text(300, "a message shown to them", shown=True)] = None


@message("lock", senders=HOSTS_AND_API)
@dataclass(frozen=True, slots=True)
class Lock(Message):
    """(Hosts) Lock the room: every new arrival but a host waits in the lobby."""


@message("unlock", senders=HOSTS_AND_API)
@dataclass(frozen=True, slots=True)
class Unlock(Message):
    """(Hosts) Unlock the room: arrivals follow the room's policy again."""


# -- host controls (hosts, or the integrator through the API) ---------------------------------

KIND = Literal["audio", "video"]


@message("mute_participant", senders=HOSTS_AND_API)
@dataclass(frozen=True, slots=True)
class MuteParticipant(Message):
    """(Hosts) Mute someone's audio or video: the server stops forwarding that kind from them at once;
    they get `muted_by_host` `{kind}`, the others `participant_updated`. They may unmute themselves
    (`mute` with `muted: false` resumes forwarding)."""

    participant_id: PARTICIPANT_ID
    kind: KIND


@message("ask_unmute")
@dataclass(frozen=True, slots=True)
class AskUnmute(Message):
    """(Hosts) Ask someone to unmute a kind: they get `unmute_requested` `{kind}` and decide."""

    participant_id: PARTICIPANT_ID
    kind: KIND


@message("set_role", senders=HOSTS_AND_API)
@dataclass(frozen=True, slots=True)
class SetRole(Message):
    """(Hosts) Make a member a viewer or a viewer a member, for this call (the booking keeps its role):
    publishing rights change at once (a new viewer's publishing stops); everyone sees
    `participant_updated` with the new `role`. A host's role is not changed."""

    participant_id: PARTICIPANT_ID
    role: Literal["member", "viewer"]


@message("remove_participant")
@dataclass(frozen=True, slots=True)
class RemoveParticipant(Message):
    """(Hosts) Remove someone from the meeting for good, as the integrator's
    `DELETE …/participants/{pid}` does: their invitation is withdrawn (the booking records it), their
    sessions end on every surface (`error` `participant_removed`) and their link is refused from then
    on. Not a host, nor yourself (`forbidden`)."""

    participant_id: PARTICIPANT_ID


@message("end_meeting", reply="`{ok}`, when the ack arrives: the sender's own session ends too "
         "(`error` `room_ended`)")
@dataclass(frozen=True, slots=True)
class EndMeeting(Message):
    """(Hosts) End the meeting for everyone, as the integrator's `POST …/end` does: the room is `ended`
    (the booking records it), every session ends (`error` `room_ended`) and every link answers 410."""


# -- chat and raised hands (signalling/chat.py, signalling/hands.py) ----------------------------


@message("chat_send", reply="`{ok, id}` — the message's id")
@dataclass(frozen=True, slots=True)
class ChatSend(Message):
    """(Anyone in the call, viewers too; not while waiting) Send a chat message: one line of visible
    text. Everyone in the call gets `chat_message` `{id, from, text, at}`, the sender too. At most
    5 messages per 10 s per participant (beyond: `rate_limited`)."""

    text: Annotated[str, Text(1000, "one line of visible text", shown=True)]


@message("chat_remove")
@dataclass(frozen=True, slots=True)
class ChatRemove(Message):
    """(Hosts) Remove a chat message: everyone in the call gets `chat_removed` `{id}`; its text is no
    longer kept. An id the room does not keep is refused with `unknown_message`."""

    message_id: Annotated[str, Text(64, "a chat message id")]


@message("raise_hand")
@dataclass(frozen=True, slots=True)
class RaiseHand(Message):
    """(Anyone in the call) Raise your hand: you go to the end of the queue (a hand already up keeps
    its place). Everyone in the call gets `hands` `{queue}`, the others `participant_updated`."""


@message("lower_hand")
@dataclass(frozen=True, slots=True)
class LowerHand(Message):
    """Lower your own hand (`{}`), or (hosts) someone's (`{participant_id}`); everyone in the call
    gets `hands` `{queue}`. Lowering a hand that is down changes nothing."""

    participant_id: Annotated[str | None, Text(64, "a participant id; leave out for your own")] = None


API_ONLY = frozenset({Sender.API})


@message("live_view", senders=API_ONLY, reply="`{participants, locked}`")
@dataclass(frozen=True, slots=True)
class LiveView(Message):
    """(API) Who is in the live room and in which state (`GET /api/v1/rooms/{id}/live`)."""


# -- guest invites and the recording gate (rooms/guest_invites.py, signalling/recording.py) ------


@message("create_invite", reply="`{ok, invite}` — `invite`: `{id, url, purpose, status, expires_at, …}`; "
         "hand `url` to the guest (it is shown only here)")
@dataclass(frozen=True, slots=True)
class CreateInvite(Message):
    """(Hosts) Make a one-time invite for a guest (an interpreter, a family member, a second clinician),
    valid from 5 minutes to 5 hours. Whoever opens its link and presses "join" becomes a participant of
    the room (once: a used, revoked or expired link shows a page saying so) and always waits in the lobby
    until a host lets them in. At most 5 live invites per room (`invite_refused`)."""

    purpose: Literal["interpreter", "family_member", "clinician"]
    expires_in_minutes: Annotated[int, Range(5, 300, "how long the invite stays valid, in minutes")]


@message("revoke_invite")
@dataclass(frozen=True, slots=True)
class RevokeInvite(Message):
    """(Hosts) Revoke an invite that was not used yet (again: nothing happens); a used one is refused
    (`invite_refused`: remove the guest instead), an unknown one too."""

    invite_id: Annotated[str, Text(64, "an invite id")]


@message("recording_consent")
@dataclass(frozen=True, slots=True)
class RecordingConsent(Message):
    """(Anyone in the room, waiting too) Agree, or not, to the room being recorded; the answer may change
    at any time and is recorded (`recording.consent`). Everyone in the call gets `recording`. Withdrawn
    while recording, recording pauses until everyone present agrees again."""

    granted: bool


@message("start_recording", senders=HOSTS_AND_API, reply="`{ok, recording}`")
@dataclass(frozen=True, slots=True)
class StartRecording(Message):
    """(Hosts) Start recording: refused with `recording_consent_missing` (the message says how many and
    who, by id; they get `recording_consent_requested`) until everyone in the call agreed. Then everyone
    in the call gets `recording` `{active: true, since, paused: false, missing: []}`. Someone who enters
    the call without having agreed pauses it (`paused: true`) until they agree or leave."""


@message("stop_recording", senders=HOSTS_AND_API)
@dataclass(frozen=True, slots=True)
class StopRecording(Message):
    """(Hosts) Stop recording; everyone in the call gets `recording` `{active: false}`."""


@message("recording_view", senders=API_ONLY, reply="`{active, since, paused, missing, consents}`")
@dataclass(frozen=True, slots=True)
class RecordingView(Message):
    """(API) The recording gate's state and who agreed (`GET /api/v1/rooms/{id}/recording`)."""


# -- parsing ----------------------------------------------------------------------------------


def _hints(cls: type[Message]) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)  # each class resolved in its own module


def _field(cls: type[Message], name: str, hint: Any, data: dict[str, Any]) -> Any:
    """Check one field of *data* against its declared type; raise BadRequest naming it."""
    value = data.get(name)
    constraint = None
    extras: list[Any] = []
    if typing.get_origin(hint) is Annotated:
        hint, *extras = typing.get_args(hint)
        constraint = next((e for e in extras if isinstance(e, Text)), None)
    if typing.get_origin(hint) in (Union, types.UnionType) and type(None) in typing.get_args(hint):
        if value is None:  # an optional field left out
            return None
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        if value not in choices or not isinstance(value, str):
            raise BadRequest(f"{cls.name}: '{name}' must be one of " + ", ".join(repr(c) for c in choices))
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise BadRequest(f"{cls.name}: '{name}' must be true or false")
        return value
    if hint is int:
        bounds = next((e for e in extras if isinstance(e, Range)), None) if constraint is None else None
        if type(value) is not int:  # a bool is no number here, nor is 5.0
            raise BadRequest(f"{cls.name}: '{name}' must be a whole number")
        if bounds is not None and not bounds.low <= value <= bounds.high:
            raise BadRequest(f"{cls.name}: '{name}' must be from {bounds.low} to {bounds.high}")
        return value
    if hint is str:
        if not isinstance(value, str) or not value.strip():
            raise BadRequest(f"{cls.name}: '{name}' must be a non-empty string")
        if constraint is not None and len(value) > constraint.max_len:
            raise BadRequest(f"{cls.name}: '{name}' is longer than {constraint.max_len} characters")
        problem = text_problem(value) if constraint is not None and constraint.shown else None
        if problem is not None:
            raise BadRequest(f"{cls.name}: '{name}' {problem}")
        return value
    raise TypeError(f"{cls.__name__}.{name}: field type {hint!r} has no parser")  # a declaration bug


def parse_message(name: str, data: Any) -> Message:
    """The message *name* with the fields of *data* (a JSON object); BadRequest when unusable."""
    cls = MESSAGES.get(name)
    if cls is None:
        raise BadRequest(f"unknown event {name[:40]!r}")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if fields and not isinstance(data, dict):
        raise BadRequest(f"{name}: send an object with " + ", ".join(f.name for f in fields))
    hints = _hints(cls)
    values = {f.name: _field(cls, f.name, hints[f.name], data) for f in fields}
    return cls(**values)


def message_from_wire(data: dict[str, Any]) -> Message:
    """A message from its `Message.to_wire` form."""
    fields = {k: v for k, v in data.items() if k != "type"}
    return parse_message(str(data.get("type")), fields)


# -- dispatch -------------------------------------------------------------------------------------

Handler = Callable[..., Any]


def handles(cls: type[Message]) -> Callable[[Handler], Handler]:
    """Mark a live-room method as the handler of message *cls*."""

    def mark(fn: Handler) -> Handler:
        fn.__handles__ = cls  # type: ignore[attr-defined]
        return fn

    return mark


def core_messages() -> list[type[Message]]:
    """The messages every live room handles (declared here; workflows declare their own elsewhere)."""
    return [cls for cls in MESSAGES.values() if cls.__module__ == __name__]


def handler_table(owner: type) -> dict[type[Message], Handler]:
    """Every `handles`-marked method of *owner*, by message class; each core message has one."""
    table: dict[type[Message], Handler] = {}
    for klass in reversed(owner.__mro__):
        for attribute in vars(klass).values():
            cls = getattr(attribute, "__handles__", None)
            if cls is not None:
                table[cls] = attribute
    missing = [cls.name for cls in core_messages() if cls not in table]
    if missing:
        raise TypeError(f"{owner.__name__} has no handler for: {', '.join(missing)}")
    return table


# -- docs -------------------------------------------------------------------------------------------


def _describe(hint: Any) -> str:
    if typing.get_origin(hint) is Annotated:
        hint, *extras = typing.get_args(hint)
        bounds = next((e for e in extras if isinstance(e, Range)), None)
        if bounds is not None:
            return f"{bounds.what} (a whole number from {bounds.low} to {bounds.high})"
        text = next((e for e in extras if isinstance(e, Text)), None)
        if text is not None:
            return f"{text.what} (at most {text.max_len // 1024} KiB)" if text.max_len >= 1024 \
                else f"{text.what} (at most {text.max_len} characters)"
    if typing.get_origin(hint) is Literal:
        return " or ".join(f'"{c}"' for c in typing.get_args(hint))
    if typing.get_origin(hint) in (Union, types.UnionType) and type(None) in typing.get_args(hint):
        inner = next(arg for arg in typing.get_args(hint) if arg is not type(None))
        return f"optional, {_describe(inner)}"
    return {bool: "bool", str: "string"}.get(hint, str(hint))


def _payload(cls: type[Message]) -> str:
    hints = _hints(cls)
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if not fields:
        return "`{}`"
    return "`{" + ", ".join(f.name for f in fields) + "}` — " + "; ".join(
        f"`{f.name}`: {_describe(hints[f.name])}" for f in fields)


def _rows(messages: Sequence[type[Message]]) -> Iterator[str]:
    yield "| event | payload | does | ack on success |"
    yield "| --- | --- | --- | --- |"
    for cls in messages:
        if Sender.PARTICIPANT not in cls.senders:
            continue  # the integrator's alone (REST), never a socket event
        doc = " ".join((cls.__doc__ or "").split())
        yield f"| `{cls.name}` | {_payload(cls)} | {doc} | {cls.reply} |"


def protocol_table(messages: Sequence[type[Message]] | None = None) -> str:
    """The client → server table of docs/protocol.md (the core messages, or a workflow's *messages*),
    generated from the declarations."""
    return "\n".join(_rows(core_messages() if messages is None else messages)) + "\n"


if __name__ == "__main__":  # python -m signalling.messages: print the table for docs/protocol.md
    sys.stdout.write(protocol_table())
