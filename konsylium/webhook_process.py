"""Webhook delivery in a process of its own: the front's handle (`DeliveryProcess`) and the child's `main`.

Why a process: an attempt costs the sender ≈ 0.7 ms of CPU (aiohttp's client, the claim and the
settle). On the front's event loop that time is taken from bookings and signalling, and under
500 bookings/s the outbox grew without bound (docs/benchmarks.md). The child runs the same
`Dispatcher` with its own interpreter (its own GIL) and its own SQLite connection to the store's
file; WAL lets the front's and the child's transactions take turns without blocking readers. The
child's commits are not synced on their own (`SqliteRoomStore` ``durable=False``): a power cut
can undo its last claims and settles, and those messages are sent again.

The two talk over the child's standard streams:

- the front writes one byte to the child's stdin to wake it (a commit that queued messages, a
  redelivery, a test event); wake-ups are coalesced while bytes wait unread;
- the child writes one line per attempt outcome (``delivered``, ``retry``, …) to its stdout; the
  front counts them in its metrics.

The child stops when its stdin closes, that is when the front stops or dies (``kill -9`` included),
and on SIGTERM; attempts cut short stay ``sending`` and are due again at the next start
(`Outbox.recover`): delivery stays at least once. The front restarts a child that died, after
`RESTART_PAUSE`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from konsylium.logs import configure_logging
from rooms.clock import SystemClock
from rooms.sqlite_store import SqliteRoomStore
from rooms.webhooks.dispatcher import Dispatcher
from rooms.webhooks.model import AttemptOutcome
from rooms.webhooks.outbox import Outbox

__all__ = ["DeliveryProcess", "main"]

log = logging.getLogger(__name__)
#: How long a stopping child may take to end its attempts before it is killed.
STOP_TIMEOUT = 15.0
#: The pause before a child that died is started again (a crash loop costs little).
RESTART_PAUSE = 1.0
#: Wake-up bytes left unread in the pipe beyond which more are pointless (the child will look anyway).
WAKE_BACKLOG = 64


class DeliveryProcess:
    """The front's handle on the delivery child: `start`, `wake`, `stop` (the dispatcher's interface).

    The child starts when there is something to send: at `start` if the outbox holds messages, else
    at the first `wake` (a commit that queued messages needs an endpoint, so a node without
    endpoints never runs one)."""

    def __init__(self, store_path: Path, outbox: Outbox, *, allow_private: bool, log_level: str,
                 on_outcome: Callable[[AttemptOutcome], None] | None = None) -> None:
        self.store_path = store_path
        self.outbox = outbox
        self.allow_private = allow_private
        self.log_level = log_level
        self.on_outcome = on_outcome
        self._process: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def pid(self) -> int | None:
        """The running child's process id (None before it starts and between a death and its restart)."""
        return None if self._process is None else self._process.pid

    async def start(self) -> None:
        self._closing = False
        if (await self.outbox.stats()).pending:
            self._launch()

    def wake(self) -> None:
        """Ask the child to look for due messages now (never blocks; coalesced while unread)."""
        if self._task is None:
            self._launch()
            return
        process = self._process
        if process is None or process.stdin is None or process.stdin.is_closing():
            return  # starting or restarting: a new child looks at once
        if process.stdin.transport.get_write_buffer_size() < WAKE_BACKLOG:
            process.stdin.write(b"w")

    async def stop(self) -> None:
        """Close the child's stdin and wait for it to end its attempts (killed after `STOP_TIMEOUT`)."""
        self._closing = True
        task, self._task = self._task, None
        if task is None:
            return
        process = self._process
        if process is None:
            task.cancel()  # between a death and a restart, or still spawning
        else:
            if process.stdin is not None:
                process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                log.warning("webhook delivery process did not stop in time; killing pid=%s", process.pid)
                process.kill()
                await process.wait()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._process = None

    def _launch(self) -> None:
        if not self._closing:
            self._task = asyncio.create_task(self._run(), name="webhook-delivery-process")

    async def _run(self) -> None:
        """Start the child and count its outcomes; when it dies unasked, start another after a pause."""
        while True:
            process = await self._spawn()
            if self._closing:  # stop() came while spawning
                if process.stdin is not None:
                    process.stdin.close()
                await process.wait()
                return
            self._process = process
            assert process.stdout is not None
            async for line in process.stdout:
                self._count(line)
            code = await process.wait()
            if self._closing:
                return
            self._process = None
            log.error("webhook delivery process died pid=%s code=%s; restarting in %.0f s", process.pid, code,
                      RESTART_PAUSE)
            await asyncio.sleep(RESTART_PAUSE)

    async def _spawn(self) -> asyncio.subprocess.Process:
        args = ["--store", str(self.store_path), "--log-level", self.log_level]
        if self.allow_private:
            args.append("--allow-private")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "konsylium.webhook_process", *args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        log.info("webhook delivery process started pid=%s", process.pid)
        return process

    def _count(self, line: bytes) -> None:
        try:
            outcome = AttemptOutcome(line.decode("ascii").strip())
        except ValueError:
            log.warning("webhook delivery process wrote an unknown line length=%s", len(line))
            return
        if self.on_outcome is not None:
            self.on_outcome(outcome)


def _report(outcome: AttemptOutcome) -> None:
    sys.stdout.write(f"{outcome.value}\n")
    sys.stdout.flush()


async def _serve(store_path: Path, allow_private: bool) -> None:
    """Deliver until stdin closes or SIGTERM; each byte read is a wake-up."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    store = SqliteRoomStore(store_path, durable=False)  # a lost settle only repeats a delivery
    await store.open()
    dispatcher = Dispatcher(Outbox(store), SystemClock(), allow_private=allow_private, on_outcome=_report)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def read_wakes() -> None:
        while await reader.read(4096):
            dispatcher.wake()
        stopping.set()

    wakes = asyncio.create_task(read_wakes())
    try:
        await dispatcher.start()
        await stopping.wait()
    finally:
        wakes.cancel()
        await dispatcher.stop()
        await store.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Konsylium webhook delivery (started by the front)")
    parser.add_argument("--store", type=Path, required=True, help="the room store's SQLite file")
    parser.add_argument("--allow-private", action="store_true", help="allow loopback/private destinations")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    # Ctrl-C in a terminal reaches the whole process group: the front decides when this process ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(_serve(args.store, args.allow_private))


if __name__ == "__main__":
    main()
