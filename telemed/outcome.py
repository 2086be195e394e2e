"""How a visit ended: the clinician's outcome code and short note, and what a note may hold."""

from __future__ import annotations

from enum import StrEnum

from rooms.text import text_problem

__all__ = ["NOTE_MAX", "VisitOutcome", "note_problem"]

#: The longest note a clinician may write at completion (characters).
NOTE_MAX = 2000


class VisitOutcome(StrEnum):
    """The clinician's outcome of a visit (a `consultation.completed` event carries the code, never the note)."""

    COMPLETED = "completed"
    IN_PERSON_NEEDED = "in_person_needed"  # needs an in-person visit
    NO_SHOW = "no_show"  # the patient did not come (also a `consultation.no_show` event)
    TECHNICAL_FAILURE = "technical_failure"


def note_problem(note: str) -> str | None:
    """What is wrong with *note* as lines of visible text (shown as text, never as markup), or None.

    Line breaks are allowed between lines; every other character follows the rules of names and
    titles (no controls, no bidirectional overrides), and something must be visible.
    """
    if len(note) > NOTE_MAX:
        return f"is longer than {NOTE_MAX} characters"
    return text_problem(note.replace("\n", " "))
