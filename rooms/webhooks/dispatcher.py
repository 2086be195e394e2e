"""The dispatcher: the front process's task that sends the outbox's due messages.

It claims due messages (oldest due first, at most `PER_ENDPOINT` attempts at once
per endpoint, `IN_FLIGHT` sends in all), posts each with aiohttp (signed, `ATTEMPT_TIMEOUT` per attempt, no
redirects followed, every connection to a checked address: `destinations`), and
settles it: a 2xx is delivered; ``410 Gone`` disables the endpoint; anything else
(another status, a timeout, a refused or unreachable destination) is retried on
`RetrySchedule`, then failed. An endpoint's place is free as soon as its answer is
in (the settling commit is not waited for), so one endpoint is not held to four
round trips to the store per four deliveries. Between rounds it sleeps until the next message is
due, or until woken (a commit that queued messages, an attempt that ended).

Logs name endpoints and messages by id, never by URL (a URL may hold credentials).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import aiohttp
from yarl import URL

from rooms.clock import Clock
from rooms.webhooks.destinations import CheckedResolver, DestinationRefused, literal_refusal
from rooms.webhooks.model import Attempt, AttemptOutcome
from rooms.webhooks.outbox import Claim, Outbox
from rooms.webhooks.retry import RetrySchedule
from rooms.webhooks.signing import webhook_headers

__all__ = ["ATTEMPT_TIMEOUT", "PER_ENDPOINT", "Dispatcher"]

log = logging.getLogger(__name__)
ATTEMPT_TIMEOUT = 10.0
PER_ENDPOINT = 4
IN_FLIGHT = 64
#: The longest sleep between rounds, whatever is due: a safety net for a missed wake-up.
IDLE = 5.0
USER_AGENT = "Konsylium-Webhooks/1"


def outcome_of(status: int | None, failures_before: int, schedule: RetrySchedule) -> AttemptOutcome:
    """How an attempt that got HTTP *status* (None: no answer) ended, after *failures_before*
    failed attempts of its round."""
    if status is not None and 200 <= status < 300:
        return AttemptOutcome.DELIVERED
    if status == 410:
        return AttemptOutcome.GONE
    return AttemptOutcome.RETRY if failures_before + 1 < schedule.attempts else AttemptOutcome.FAILED


class Dispatcher:
    """Sends the outbox: `run` is the background task, `wake` asks it to look again now."""

    def __init__(self, outbox: Outbox, clock: Clock, *, allow_private: bool, deliver: bool = True,
                 schedule: RetrySchedule | None = None, on_outcome: Callable[[AttemptOutcome], None] | None = None,
                 rng: random.Random | None = None, timeout: float = ATTEMPT_TIMEOUT) -> None:
        self.outbox = outbox
        self.clock = clock
        self.allow_private = allow_private
        self.deliver = deliver
        self.schedule = schedule or RetrySchedule()
        self.on_outcome = on_outcome
        self.rng = rng or random.SystemRandom()
        self.timeout = timeout
        self._busy: Counter[str] = Counter()
        self._wake = asyncio.Event()
        self._sends: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def wake(self) -> None:
        """Look for due messages now (safe to call from the event loop at any time)."""
        self._wake.set()

    async def start(self) -> None:
        """Pick up what a previous run left in flight, then run in the background."""
        recovered = await self.outbox.recover(self.clock.now())
        if recovered:
            log.warning("webhook messages interrupted by a stop are due again count=%s", recovered)
        connector = aiohttp.TCPConnector(resolver=CheckedResolver(self.allow_private), use_dns_cache=False)
        self._session = aiohttp.ClientSession(connector=connector, trust_env=False,
                                              headers={"User-Agent": USER_AGENT})
        self._task = asyncio.create_task(self.run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        """Stop sending; attempts cut short stay ``sending`` and are picked up at the next start."""
        tasks = [t for t in (self._task, *self._sends) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                wait = await self._round() if self.deliver else IDLE
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook dispatcher round failed; trying again")
                wait = 1.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _round(self) -> float:
        """Claim and start what is due; return how long to sleep before the next round."""
        room = IN_FLIGHT - len(self._sends)
        if room <= 0:
            return IDLE  # a send ending wakes us
        # a copy: the store's thread reads it while sends end on this loop (a stale count only holds back)
        claimed = await self.outbox.claim(self.clock.now(), dict(self._busy), PER_ENDPOINT, room)
        for claim in claimed.claims:
            self._busy[claim.endpoint_id] += 1
            task = asyncio.create_task(self._send(claim))
            self._sends.add(task)
            task.add_done_callback(self._sent)
        if claimed.next_due is None:
            return IDLE
        return min(IDLE, max(0.0, (claimed.next_due - self.clock.now()).total_seconds()))

    def _sent(self, task: asyncio.Task[None]) -> None:
        """A send is over (settled too): its place in `IN_FLIGHT` is free."""
        self._sends.discard(task)
        self.wake()

    def _answered(self, endpoint_id: str) -> None:
        """An attempt's HTTP exchange is over: the endpoint's place is free for the next message."""
        self._busy[endpoint_id] -= 1
        if self._busy[endpoint_id] <= 0:
            del self._busy[endpoint_id]
        self.wake()

    async def _send(self, claim: Claim) -> None:
        try:
            attempt = await self._attempt(claim)
        finally:
            self._answered(claim.endpoint_id)
        # settle's store call is queued before the next round's claim (no await in between), so that
        # claim already sees this message rescheduled, or its endpoint disabled after a 410
        delay = self.schedule.delay(claim.round_attempts + 1, self.rng) \
            if attempt.outcome is AttemptOutcome.RETRY else None
        await self.outbox.settle(claim, attempt, None if delay is None else attempt.at + delay)
        if self.on_outcome is not None:
            self.on_outcome(attempt.outcome)
        log.log(logging.INFO if attempt.outcome is AttemptOutcome.DELIVERED else logging.WARNING,
                "webhook attempt endpoint=%s message=%s outcome=%s status=%s error=%s", claim.endpoint_id,
                claim.message_id, attempt.outcome.value, attempt.status_code, attempt.error)
        if attempt.outcome is AttemptOutcome.GONE:
            log.warning("webhook endpoint disabled (410 Gone) endpoint=%s", claim.endpoint_id)

    async def _attempt(self, claim: Claim) -> Attempt:
        """One POST of the message; never raises for what the network or the receiver does."""
        at = self.clock.now()
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            url = URL(claim.url)
            refused = literal_refusal(url, self.allow_private)
            if refused is not None:
                raise DestinationRefused(f"the host is {refused}")
            body = claim.payload.encode()
            headers = webhook_headers(claim.message_id, int(at.timestamp()), body, claim.secrets)
            assert self._session is not None
            async with self._session.post(url, data=body, headers=headers, allow_redirects=False,
                                          timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                status = resp.status
                await resp.content.read(64 * 1024)  # the answer's body is not kept; read some, let go
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
        except DestinationRefused as exc:
            error = f"destination refused: {exc}"
        except aiohttp.ClientConnectorError as exc:
            cause = exc.os_error
            error = f"destination refused: {cause}" if isinstance(cause, DestinationRefused) \
                else f"cannot connect: {cause.strerror or type(cause).__name__}"
        except TimeoutError:
            error = f"no answer within {self.timeout:g} s"
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            error = f"request failed: {type(exc).__name__}"
        latency = timedelta(seconds=time.perf_counter() - started)
        outcome = outcome_of(status, claim.round_attempts, self.schedule)
        return Attempt(at, outcome, status, latency, error)

