"""The visit's room events (rooms.events): ids, states and the outcome code, never a name or the note.

They land in the room's audit chain and go to the tenant's webhooks like every room event.
Registered when this module is imported (the front and every media worker import it with
the consultation workflow).
"""

from __future__ import annotations

from rooms.events import register_event_type

__all__ = ["COMPLETED", "IN_PERSON_REQUESTED", "NO_SHOW", "PATIENT_WAITING", "STARTED"]

PATIENT_WAITING = "consultation.patient_waiting"
STARTED = "consultation.started"
COMPLETED = "consultation.completed"
IN_PERSON_REQUESTED = "consultation.in_person_requested"
NO_SHOW = "consultation.no_show"

register_event_type(PATIENT_WAITING, "a patient arrived in a consultation's waiting room, or was sent back "
                                     "to it (participant_id)")
register_event_type(STARTED, "the first admission of a patient: the visit and its timer started (participant_id)")
register_event_type(COMPLETED, "a clinician (by) completed the visit (data: outcome, in_call_seconds); the note "
                               "is read with GET /api/v1/rooms/{id}/consultation")
register_event_type(IN_PERSON_REQUESTED, "the patient (participant_id) asked for an in-person visit")
register_event_type(NO_SHOW, "a clinician (by) completed the visit as a no-show (also consultation.completed)")
