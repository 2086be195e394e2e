"""How much of the pre-call check one participant may use: requests per minute, one upload at a time.

The connection test makes the server read up to a mebibyte per request, so every participant has a
budget per kind of request in fixed one-minute windows, and at most one upload of theirs runs at a time;
the node as a whole runs at most ``MAX_UPLOADS`` uploads at once. A participant's counters go once their
window is over (swept when the table is full), so the table holds at most ``MAX_KEYS`` entries.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from rooms.clock import Clock
from rooms.errors import DomainError

__all__ = ["MAX_KEYS", "MAX_UPLOADS", "PER_MINUTE", "Budgets", "Busy", "TooManyChecks"]

WINDOW = timedelta(minutes=1)
#: Requests per participant per minute, by kind. A whole check takes about ten pings, four uploads and
#: two results (the speaker's answer may come after the verdict); a host's page asks for results often.
PER_MINUTE = {"ping": 120, "upload": 24, "result": 12, "results": 60}
MAX_KEYS = 10_000
MAX_UPLOADS = 16


class TooManyChecks(DomainError):
    """A participant used up this minute's budget of one kind of pre-call check request."""

    status = 429
    slug = "rate-limited"
    title = "Too many pre-call check requests"
    retry_after = 60


class Busy(DomainError):
    """The node runs as many connection tests as it will at once, or tracks as many participants."""

    status = 503
    slug = "server-busy"
    title = "The server is busy"
    retry_after = 5


@dataclass(slots=True)
class _Window:
    started: datetime
    counts: dict[str, int]


class Budgets:
    """Per-participant request budgets and the upload slots, on the node's clock."""

    def __init__(self, clock: Clock, per_minute: dict[str, int] | None = None, *, max_keys: int = MAX_KEYS,
                 max_uploads: int = MAX_UPLOADS) -> None:
        self.clock = clock
        self.per_minute = dict(PER_MINUTE if per_minute is None else per_minute)
        self.max_keys = max_keys
        self.max_uploads = max_uploads
        self._windows: dict[str, _Window] = {}
        self._uploading: set[str] = set()

    def __len__(self) -> int:
        return len(self._windows)

    def spend(self, participant_id: str, kind: str) -> None:
        """Count one request of *kind*; raise TooManyChecks over the budget, Busy when the table is full."""
        now = self.clock.now()
        window = self._windows.get(participant_id)
        if window is None or now - window.started >= WINDOW or now < window.started:
            if window is None and len(self._windows) >= self.max_keys:
                self._sweep(now)
                if len(self._windows) >= self.max_keys:
                    raise Busy("too many connection tests are running; try again in a moment")
            window = self._windows[participant_id] = _Window(now, {})
        used = window.counts.get(kind, 0)
        if used >= self.per_minute[kind]:
            raise TooManyChecks(f"at most {self.per_minute[kind]} such requests a minute; try again later")
        window.counts[kind] = used + 1

    def _sweep(self, now: datetime) -> None:
        for key in [k for k, w in self._windows.items() if now - w.started >= WINDOW or now < w.started]:
            del self._windows[key]

    @contextmanager
    def upload(self, participant_id: str) -> Iterator[None]:
        """Hold one of the node's upload slots, and this participant's only one, while the body is read."""
        if participant_id in self._uploading:
            raise TooManyChecks("one connection test upload at a time")
        if len(self._uploading) >= self.max_uploads:
            raise Busy("too many connection tests are running; try again in a moment")
        self._uploading.add(participant_id)
        try:
            yield
        finally:
            self._uploading.discard(participant_id)
