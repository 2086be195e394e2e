"""The visit's room messages: what a clinician and a patient may ask of a consultation in progress.

Each is declared once, as the core messages are (`signalling.messages.message`), and handled
by the consultation workflow (`telemed.consultation.Consultation.handlers`); in any other
kind of room the live room refuses them (``bad_request``: not available in this room).
docs/protocol.md's "Consultations" table is generated from these declarations
(`python -m telemed.visit_messages`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Annotated, Literal

from signalling.messages import Message, Text, message, protocol_table
from telemed.outcome import NOTE_MAX

__all__ = ["VISIT_MESSAGES", "VisitComplete", "VisitHold", "VisitRequestInPerson", "VisitResume",
           "VisitSendBack", "visit_table"]

PARTICIPANT_ID = Annotated[str, Text(64, "a participant id")]


@message("visit_hold")
@dataclass(frozen=True, slots=True)
class VisitHold(Message):
    """(Clinicians: hosts) Put a patient in the call on hold: the server forwards nothing from them and
    nothing to them (their connections stay open); they see a notice. Everyone gets `participant_updated`
    with `state: "on_hold"` and `visit`. Holding one on hold changes nothing."""

    participant_id: PARTICIPANT_ID


@message("visit_resume")
@dataclass(frozen=True, slots=True)
class VisitResume(Message):
    """(Clinicians) Take a patient off hold: media flows both ways again, video from a fresh keyframe;
    `participant_updated` with `state: "in_call"` and `visit`."""

    participant_id: PARTICIPANT_ID


@message("visit_send_back")
@dataclass(frozen=True, slots=True)
class VisitSendBack(Message):
    """(Clinicians) Send a patient back to the waiting room: their media closes, they get `sent_to_lobby`
    (a waiting `welcome`), the call `participant_left` with `reason: "lobby"`; they keep their place in
    the lobby (arrival order) and a clinician may `admit` them again."""

    participant_id: PARTICIPANT_ID


@message("visit_complete", reply="`{ok}` (the ack may not arrive: the visit then ends for everyone, "
         "`error` `room_ended`)")
@dataclass(frozen=True, slots=True)
class VisitComplete(Message):
    """(Clinicians) Complete the visit with an outcome and a short note (lines of visible text, kept with
    the outcome, readable only with the tenant's API key): recorded once — a second one is refused with
    `visit_completed` — then the visit ends for everyone, as `end_meeting` does."""

    outcome: Literal["completed", "in_person_needed", "no_show", "technical_failure"]
    note: Annotated[str | None, Text(NOTE_MAX, "optional, lines of visible text")] = None


@message("visit_request_in_person", reply="`{ok, requested_at}`")
@dataclass(frozen=True, slots=True)
class VisitRequestInPerson(Message):
    """(Patients: anyone but a host, in the call or waiting) Ask for an in-person visit instead: recorded
    once per participant and shown to the clinicians (`visit`'s `in_person_requests`); asking again
    changes nothing."""


#: The visit's messages, in the order of the docs.
VISIT_MESSAGES: tuple[type[Message], ...] = (VisitHold, VisitResume, VisitSendBack, VisitComplete,
                                            VisitRequestInPerson)


def visit_table() -> str:
    """The "Consultations" client → server table of docs/protocol.md, from the declarations."""
    return protocol_table(VISIT_MESSAGES)


if __name__ == "__main__":  # python -m telemed.visit_messages: the table for docs/protocol.md
    sys.stdout.write(visit_table())
