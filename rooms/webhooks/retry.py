"""When a failed delivery is tried again: exponential backoff with full jitter, over about a day.

After the *n*-th failure in a row the next attempt waits a uniformly random time
between 0 and the *n*-th step of `DELAYS` ("full jitter": receivers that failed
together do not get their retries together). A failure after the last step gives
the message up (``failed``); a manual redelivery starts the schedule again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

__all__ = ["DELAYS", "RetrySchedule"]

#: The upper bound of each wait, after the first, second… failure (10 retries, 11 attempts):
#: on average a message is given up about 23 h after its first attempt, at the latest after 47 h.
DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5), timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10),
    timedelta(minutes=30), timedelta(hours=1), timedelta(hours=3), timedelta(hours=6),
    timedelta(hours=12), timedelta(hours=24),
)


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """The waits between attempts; *delays* are the upper bounds of the jittered waits."""

    delays: tuple[timedelta, ...] = DELAYS

    @property
    def attempts(self) -> int:
        """How many attempts a message gets before it is given up."""
        return len(self.delays) + 1

    def delay(self, failures: int, rng: random.Random) -> timedelta | None:
        """The wait after the *failures*-th failed attempt in a row (1 = the first); None: give up."""
        if failures < 1:
            raise ValueError("a wait follows at least one failure")
        if failures > len(self.delays):
            return None
        bound = self.delays[failures - 1]
        return timedelta(microseconds=rng.randint(0, bound // timedelta(microseconds=1)))
