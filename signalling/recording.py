"""The recording-consent gate of a live room: who agreed to be recorded, and whether recording is on.

Recording may start only when everyone present in the call agreed (hosts too); someone
who enters the call without having agreed, or withdraws while recording, *pauses* it
until everyone present agrees again or the one who does not leaves (the safe choice: no
one is recorded without agreeing, and nobody has to restart anything). This is the gate
and its state only: no media is recorded here (council sessions bring the recorder, which
will record exactly while `RecordingGate.recording` is true).

Answers are kept per participant for as long as they are in the live room (a reconnect
keeps them; someone who leaves and comes back is asked again), so the gate is bounded by
the room's members. Every answer and every change of state is a room event (ids and
booleans) on the audit chain; `signalling.live_room` records them and tells the call.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Consent", "RecordingGate"]


@dataclass(frozen=True, slots=True)
class Consent:
    granted: bool
    at: datetime


@dataclass(slots=True)
class RecordingGate:
    """One live room's consents and recording state."""

    consents: dict[str, Consent] = field(default_factory=dict)
    active: bool = False  # a host started recording and did not stop it
    since: datetime | None = None
    paused: bool = False  # active, but someone present has not agreed

    @property
    def recording(self) -> bool:
        """Whether media may be recorded now."""
        return self.active and not self.paused

    def answer(self, participant_id: str, granted: bool, at: datetime) -> bool:
        """Keep a participant's answer; True when it changed (a first answer always does)."""
        before = self.consents.get(participant_id)
        self.consents[participant_id] = Consent(granted, at)
        return before is None or before.granted != granted

    def forget(self, participant_id: str) -> None:
        """The participant left the room: their answer goes with them."""
        self.consents.pop(participant_id, None)

    def missing(self, present: Collection[str]) -> list[str]:
        """Who of *present* (ids, in order) has not agreed."""
        return [pid for pid in present if not (pid in self.consents and self.consents[pid].granted)]

    def start(self, at: datetime) -> None:
        self.active, self.since, self.paused = True, at, False

    def stop(self) -> None:
        self.active, self.since, self.paused = False, None, False

    def view(self, present: Collection[str]) -> dict[str, Any]:
        """The ``recording`` event and the ack's state: ids only."""
        return {"active": self.active, "since": None if self.since is None else self.since.isoformat(),
                "paused": self.paused, "missing": self.missing(present)}

    def consents_view(self) -> list[dict[str, Any]]:
        """Who answered what and when (the API's ``consents``): ids, booleans and times."""
        return [{"participant_id": pid, "granted": c.granted, "at": c.at.isoformat()}
                for pid, c in self.consents.items()]
