"""Room events from live rooms, written in order without making a room wait for the disk.

A live room records an event for every join, leave, admission and host action
(rooms.events). The store makes each write durable (an fsync per commit), and
a room that awaited it would hold everything behind it: with media workers the
worker link handles the front's events one after another, so a broadcast would
queue behind a disk write. `QueuedEvents` takes the events at once and hands
them to the store from one task, in the order they came, several writes in
flight at a time so the store's group commit gathers them into few transactions.
A write that fails is logged with ids and counted; the act it records stands
(as when the room awaited it). What is queued is bounded: past `LIMIT` batches
waiting, new ones are dropped and logged, so a stuck disk cannot take the
node's memory. `close()` writes what is queued before the store closes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from rooms.events import EventSink, RoomEvent

__all__ = ["LIMIT", "QueuedEvents"]

log = logging.getLogger(__name__)
#: Batches of events that may wait for the store before new ones are dropped.
LIMIT = 50_000
#: Writes handed to the store at once (its group commit batches them into one transaction).
IN_FLIGHT = 64


class QueuedEvents:
    """An `EventSink` in front of a slower one (the store): never waits, keeps the order."""

    def __init__(self, sink: EventSink, *, limit: int = LIMIT) -> None:
        self._sink = sink
        self._limit = limit
        # batches of events; a future is a `flush` waiting for what was queued before it; None: close
        self._queue: asyncio.Queue[list[RoomEvent] | asyncio.Future[None] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.failed = 0  # events not recorded (a write failed, or dropped over the limit)

    async def record_events(self, events: Sequence[RoomEvent]) -> None:
        if not events:
            return
        if self._queue.qsize() >= self._limit:
            self.failed += len(events)
            log.error("events dropped: %s batches wait for the store room=%s type=%s", self._queue.qsize(),
                      events[0].room_id, events[0].type)
            return
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._write(), name="konsylium-events")
        self._queue.put_nowait(list(events))

    async def flush(self) -> None:
        """Wait until every event queued so far is written (or failed): a change written straight to the
        store after this (a visit's outcome with its events) comes after them in the rooms' trails."""
        if self._task is None:
            return
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(written)
        await written

    async def _write(self) -> None:
        done = False
        while not done:
            batches: list[list[RoomEvent]] = []
            flushes: list[asyncio.Future[None]] = []
            item = await self._queue.get()
            while item is not None:
                if isinstance(item, asyncio.Future):
                    flushes.append(item)
                    if batches:  # written with this round: what follows waits for the next one
                        break
                else:
                    batches.append(item)
                if len(batches) >= IN_FLIGHT or self._queue.empty():
                    break
                item = self._queue.get_nowait()
            done = item is None
            # Started in order, so the store receives them in order; awaited together.
            writes = [asyncio.ensure_future(self._sink.record_events(batch)) for batch in batches]
            for batch, outcome in zip(batches, await asyncio.gather(*writes, return_exceptions=True), strict=True):
                if isinstance(outcome, BaseException):
                    self.failed += len(batch)
                    log.error("events not recorded room=%s type=%s count=%s", batch[0].room_id, batch[0].type,
                              len(batch), exc_info=outcome)
            for flushed in flushes:
                if not flushed.done():
                    flushed.set_result(None)

    async def close(self) -> None:
        """Write everything queued, then stop."""
        task, self._task = self._task, None
        if task is not None:
            self._queue.put_nowait(None)
            await task
