"""What retention erases of a consultation (a purger for rooms.retention, wired by konsylium/app.py).

The clinician's note and the pre-call checks (what a patient's devices and network did) go;
the outcome code, the visit timer's totals and who completed the visit stay: ids and states,
like the audit trail, so that the clinic can still count its visits and outcomes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

__all__ = ["purge_consultation_details"]


def purge_consultation_details(conn: sqlite3.Connection, room_ids: Sequence[str]) -> None:
    """Erase the note and the pre-call checks of *room_ids*, in the caller's transaction."""
    marks = ",".join("?" * len(room_ids))
    conn.execute(f"UPDATE visit_outcomes SET note = NULL WHERE room_id IN ({marks})", tuple(room_ids))
    conn.execute(f"DELETE FROM prechecks WHERE room_id IN ({marks})", tuple(room_ids))
