"""The retry schedule: exponential steps over about a day, full jitter within each step (a seeded,
fake random source), then the message is given up; and how an attempt's answer decides."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from rooms.webhooks.dispatcher import outcome_of
from rooms.webhooks.model import AttemptOutcome
from rooms.webhooks.retry import DELAYS, RetrySchedule

SCHEDULE = RetrySchedule()


def test_the_steps_grow_and_span_about_a_day() -> None:
    assert DELAYS[:4] == (timedelta(seconds=5), timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10))
    assert all(a < b for a, b in itertools.pairwise(DELAYS))
    assert SCHEDULE.attempts == 11
    assert timedelta(hours=20) < sum(DELAYS, timedelta()) / 2 < timedelta(hours=26)  # the mean of full jitter


@given(seed=st.integers(), failures=st.integers(1, len(DELAYS)))
def test_each_wait_is_between_zero_and_its_step(seed: int, failures: int) -> None:
    wait = SCHEDULE.delay(failures, random.Random(seed))
    assert wait is not None and timedelta(0) <= wait <= DELAYS[failures - 1]


def test_the_jitter_spreads_over_the_whole_step() -> None:
    rng = random.Random(7)
    waits = [SCHEDULE.delay(2, rng) for _ in range(2000)]
    seconds = sorted(w.total_seconds() for w in waits if w is not None)
    assert seconds[0] < 1 and seconds[-1] > 29  # from near 0 to near the 30 s step
    assert 12 < seconds[len(seconds) // 2] < 18  # uniform: the median is about half the step


def test_after_the_last_step_the_message_is_given_up() -> None:
    assert SCHEDULE.delay(len(DELAYS) + 1, random.Random(1)) is None
    short = RetrySchedule((timedelta(seconds=1),))
    assert short.attempts == 2 and short.delay(2, random.Random(1)) is None


def test_what_an_answer_decides() -> None:
    assert outcome_of(200, 0, SCHEDULE) is AttemptOutcome.DELIVERED
    assert outcome_of(299, 5, SCHEDULE) is AttemptOutcome.DELIVERED
    assert outcome_of(410, 0, SCHEDULE) is AttemptOutcome.GONE
    for status in (None, 301, 400, 404, 429, 500, 503):
        assert outcome_of(status, 0, SCHEDULE) is AttemptOutcome.RETRY
        assert outcome_of(status, SCHEDULE.attempts - 1, SCHEDULE) is AttemptOutcome.FAILED
