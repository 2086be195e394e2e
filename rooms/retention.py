"""Retention: a room's personal details are erased some time after it ended; its trail of ids stays.

The policy says, per room kind, how long after a room's end (its booked ``ends_at``, or
its cancellation) its details are kept (`RetentionPolicy`; ``KONSYLIUM_RETENTION_DAYS``).
Purging a room, in one transaction of the store (`RoomStore.purge_expired`):

- its title and its participants' display names become `PURGED`;
- every purger the composition root gave the store (``SqliteRoomStore.purgers``) erases
  what its package keeps about the room (telemedicine: the visit note, the pre-call checks);
- the room is marked purged (``purged_at``), and a ``room.purged`` event joins its
  audit chain. Events carry ids and states only, so the chain still verifies, and the
  integrator hears of the purge by webhook.

`Retention` runs the purge in the background of the front, every `EVERY`, a bounded
batch at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from rooms.clock import Clock
from rooms.model import Kind

__all__ = ["BATCH", "EVERY", "PURGED", "Purger", "Retention", "RetentionPolicy"]

log = logging.getLogger(__name__)

#: What a purged title or display name reads.
PURGED = "(purged)"
#: How often the front looks for rooms to purge.
EVERY = timedelta(hours=1)
#: Rooms purged per transaction (a backlog is worked off batch by batch, the store free in between).
BATCH = 200
#: The longest retention period a policy accepts (a typo of days for hours stays visible).
LONGEST = timedelta(days=365 * 30)

#: Erases a package's details of the rooms *room_ids* in the caller's transaction.
Purger = Callable[[sqlite3.Connection, Sequence[str]], None]


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long after its end each kind of room keeps its details (a kind not named: for ever)."""

    keep: Mapping[Kind, timedelta] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for kind, period in self.keep.items():
            if not timedelta(0) <= period <= LONGEST:
                raise ValueError(f"retention of {kind.value} must be between 0 and {LONGEST.days} days")

    @classmethod
    def parse(cls, text: str) -> RetentionPolicy:
        """``kind=days`` pairs separated by commas (``consultation=30,meeting=365``); raise ValueError."""
        keep: dict[Kind, timedelta] = {}
        for pair in (p.strip() for p in text.split(",") if p.strip()):
            name, sep, days = pair.partition("=")
            try:
                kind = Kind(name.strip())
            except ValueError:
                known = ", ".join(k.value for k in Kind)
                raise ValueError(f"{name.strip()!r} is not a room kind ({known})") from None
            if not sep or not days.strip().isdigit():
                raise ValueError(f"{pair!r} is not kind=days")
            if kind in keep:
                raise ValueError(f"{kind.value} is named twice")
            keep[kind] = timedelta(days=int(days.strip()))
        return cls(keep)

    def cutoffs(self, now: datetime) -> dict[Kind, datetime]:
        """Per kind, the end before which a room's details are erased."""
        return {kind: now - period for kind, period in self.keep.items()}


class Purging(Protocol):
    """The store's side of retention (rooms.store.RoomStore.purge_expired)."""

    async def purge_expired(self, cutoffs: Mapping[Kind, datetime], now: datetime, limit: int) -> list[str]: ...


class Retention:
    """The front's background purge: `run_once` now, `start`/`stop` for every `EVERY`."""

    def __init__(self, store: Purging, policy: RetentionPolicy, clock: Clock) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        """Purge every room past its retention, a batch per transaction; return how many."""
        if not self.policy.keep:
            return 0
        total = 0
        while True:
            now = self.clock.now()
            purged = await self.store.purge_expired(self.policy.cutoffs(now), now, BATCH)
            total += len(purged)
            for room_id in purged:
                log.info("room details purged room=%s", room_id)
            if len(purged) < BATCH:
                return total

    def start(self) -> None:
        if self.policy.keep and self._task is None:
            self._task = asyncio.create_task(self._run(), name="retention")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # the store may be busy or closing: try again at the next round
                log.exception("retention round failed")
            await asyncio.sleep(EVERY.total_seconds())
