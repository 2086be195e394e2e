"""A visit's timer: time in call since the first admission, stopped while a side is away.

Pure bookkeeping on times the workflow gives it (its clock's): `run(True/False, now)` at every
change of whether both sides are in the call and connected; `elapsed(now)` is the total so far.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

__all__ = ["VisitTimer"]


@dataclass(slots=True)
class VisitTimer:
    """*started_at*: the first admission (None before); *counted*: time in call up to *running_since*
    (None while stopped)."""

    started_at: datetime | None = None
    counted: timedelta = timedelta(0)
    running_since: datetime | None = None

    @property
    def running(self) -> bool:
        return self.running_since is not None

    def start(self, now: datetime) -> bool:
        """Mark the first admission (once); True when this was it."""
        if self.started_at is not None:
            return False
        self.started_at = now
        return True

    def run(self, running: bool, now: datetime) -> bool:
        """Count from *now* (*running*) or stop counting; True when that changed anything. It never runs
        before the first admission."""
        running = running and self.started_at is not None
        if running == self.running:
            return False
        if running:
            self.running_since = now
        else:
            assert self.running_since is not None
            self.counted += max(now - self.running_since, timedelta(0))
            self.running_since = None
        return True

    def elapsed(self, now: datetime) -> timedelta:
        """Time in call so far."""
        if self.running_since is None:
            return self.counted
        return self.counted + max(now - self.running_since, timedelta(0))

    def view(self, now: datetime) -> dict[str, Any]:
        """As clients see it: they count on from `elapsed_seconds` while `running`."""
        return {"started_at": None if self.started_at is None else self.started_at.isoformat(),
                "elapsed_seconds": int(self.elapsed(now).total_seconds()), "running": self.running,
                "at": now.isoformat()}
