"""The pre-call check's bounds: budgets per participant and minute, one upload each, a bounded table that
lets go of participants whose minute is over (telemed/precheck/limits.py); the bounded cache of recently
verified tokens (grants.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rooms.booking import Bookings
from rooms.clock import ManualClock
from rooms.requests import parse_booking
from rooms.sqlite_store import SqliteRoomStore
from rooms.tokens import JoinTokens, JoinWindow
from telemed.precheck.grants import TTL, RecentGrants
from telemed.precheck.limits import Budgets, Busy, TooManyChecks
from tests.conftest import NOW, SECRET, booking


def test_a_budget_is_per_participant_and_kind_and_comes_back_after_a_minute() -> None:
    clock = ManualClock(NOW)
    budgets = Budgets(clock, {"ping": 2, "upload": 1})
    budgets.spend("a", "ping")
    budgets.spend("a", "ping")
    with pytest.raises(TooManyChecks):
        budgets.spend("a", "ping")
    budgets.spend("a", "upload")
    budgets.spend("b", "ping")
    clock.advance(timedelta(seconds=59))
    with pytest.raises(TooManyChecks):
        budgets.spend("a", "ping")
    clock.advance(timedelta(seconds=1))
    budgets.spend("a", "ping")


def test_the_table_is_bounded_and_lets_go_of_finished_minutes() -> None:
    clock = ManualClock(NOW)
    budgets = Budgets(clock, {"ping": 5}, max_keys=3)
    for key in "abc":
        budgets.spend(key, "ping")
    with pytest.raises(Busy):
        budgets.spend("d", "ping")
    budgets.spend("a", "ping")  # those already there go on
    clock.advance(timedelta(minutes=1))
    budgets.spend("d", "ping")  # the finished minutes were swept
    assert len(budgets) == 1


def test_one_upload_per_participant_and_a_few_per_node() -> None:
    budgets = Budgets(ManualClock(NOW), max_uploads=2)
    with budgets.upload("a"):
        with pytest.raises(TooManyChecks), budgets.upload("a"):
            pass
        with budgets.upload("b"), pytest.raises(Busy), budgets.upload("c"):
            pass
    with budgets.upload("a"), budgets.upload("c"):  # every slot was given back, failures included
        pass


@given(st.lists(st.tuples(st.sampled_from("abcdefgh"), st.integers(0, 90)), max_size=200))
def test_no_participant_gets_more_than_its_budget_in_any_window(steps: list[tuple[str, int]]) -> None:
    clock = ManualClock(NOW)
    budgets = Budgets(clock, {"ping": 3}, max_keys=4)
    granted: dict[str, list[float]] = {}
    for key, seconds in steps:
        clock.advance(timedelta(seconds=seconds))
        try:
            budgets.spend(key, "ping")
        except (TooManyChecks, Busy):
            continue
        granted.setdefault(key, []).append((clock.now() - NOW).total_seconds())
    assert len(budgets) <= 4
    for times in granted.values():  # fixed windows: at most twice the budget in any 60 s, 3 in one window
        for i, start in enumerate(times):
            assert len([t for t in times[i:] if t < start + 60]) <= 6


async def test_recent_grants_are_bounded_and_expire(tmp_path: Path) -> None:
    store = SqliteRoomStore(tmp_path / "s.sqlite3")
    await store.open()
    try:
        clock = ManualClock(NOW)
        bookings = Bookings(store, clock)
        rooms = [(await bookings.book("portal", parse_booking(booking(starts_at=NOW.isoformat())), None)).value
                 for _ in range(2)]
        tokens = JoinTokens(SECRET, JoinWindow(), clock)
        issued = [tokens.issue(room, person) for room in rooms for person in room.participants]
        recent = RecentGrants(tokens, store, clock, max_entries=3)
        for token in issued:
            grant = await recent.verify(token)
            assert await recent.verify(token) is grant  # cached
        assert len(recent) == 3  # the oldest went
        clock.advance(TTL)
        fresh = await recent.verify(issued[-1])
        assert fresh is not grant and fresh == grant  # verified again once TTL passed
        assert len(recent) == 3
    finally:
        await store.close()
