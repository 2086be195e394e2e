"""The outbox's claim: what it takes (oldest due first, per-endpoint places, the limit) and that it reads
by index, so a long outbox does not make every dispatcher round slower (issue 10's benchmark found it did)."""

from __future__ import annotations

import sqlite3

from hypothesis import given
from hypothesis import strategies as st

from rooms.clock import from_micros
from rooms.migrations import MIGRATIONS
from rooms.webhooks.outbox import claim_due, earliest_due

NOW_US = 1_800_000_000_000_000
NOW = from_micros(NOW_US)
ENDPOINTS = ("ep_a", "ep_b", "ep_c")
STATUSES = ("pending", "sending", "delivered", "failed", "cancelled")


def database() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.row_factory = sqlite3.Row
    for migration in MIGRATIONS:
        conn.executescript(migration)
    for index, endpoint in enumerate(ENDPOINTS):
        conn.execute("INSERT INTO webhook_endpoints VALUES (?,'t','http://127.0.0.1/',NULL,?,NULL,"
                     "'whsec_AAAA',NULL,NULL,?,?)", (endpoint, 0 if endpoint == "ep_c" else 1, index, index))
    return conn


Message = tuple[str, str, int]  # endpoint, status, due (µs relative to now)


def insert(conn: sqlite3.Connection, messages: list[Message]) -> None:
    conn.executemany(
        "INSERT INTO webhook_messages (message_id, endpoint_id, event_id, type, payload, status, attempts,"
        " round_attempts, next_attempt_us, created_us, updated_us) VALUES (?,?,NULL,'x','{}',?,0,0,?,0,0)",
        [(f"msg_{n}", endpoint, status, NOW_US + due) for n, (endpoint, status, due) in enumerate(messages)])


def expected(messages: list[Message], busy: dict[str, int], per_endpoint: int, limit: int) -> list[str]:
    """The claim's rule, naively: due pending messages of enabled endpoints, oldest due (then oldest)
    first, skipping an endpoint once its places are taken, at most *limit*."""
    order = sorted((due, n, endpoint) for n, (endpoint, status, due) in enumerate(messages)
                   if status == "pending" and due <= 0 and endpoint != "ep_c")
    counts = dict(busy)
    taken: list[str] = []
    for _, n, endpoint in order:
        if len(taken) < limit and counts.get(endpoint, 0) < per_endpoint:
            counts[endpoint] = counts.get(endpoint, 0) + 1
            taken.append(f"msg_{n}")
    return taken


messages_st = st.lists(st.tuples(st.sampled_from(ENDPOINTS), st.sampled_from(STATUSES),
                                 st.integers(-5, 5)), max_size=40)


@given(messages_st, st.dictionaries(st.sampled_from(ENDPOINTS), st.integers(0, 5)), st.integers(1, 5),
       st.integers(1, 12))
def test_the_claim_takes_the_oldest_due_within_each_endpoints_places(
        messages: list[Message], busy: dict[str, int], per_endpoint: int, limit: int) -> None:
    conn = database()
    insert(conn, messages)
    taken = claim_due(conn, NOW, busy, per_endpoint, limit)
    assert [c.message_id for c in taken] == expected(messages, busy, per_endpoint, limit)
    sending = {row["message_id"] for row in conn.execute("SELECT message_id FROM webhook_messages"
                                                         " WHERE status = 'sending'")}
    assert {c.message_id for c in taken} <= sending
    assert all(c.url == "http://127.0.0.1/" and c.secrets == ("whsec_AAAA",) for c in taken)


@given(messages_st, st.sets(st.sampled_from(ENDPOINTS)))
def test_the_next_due_is_the_earliest_pending_of_the_endpoints_not_excluded(
        messages: list[Message], excluding: set[str]) -> None:
    conn = database()
    insert(conn, messages)
    dues = [due for endpoint, status, due in messages
            if status == "pending" and endpoint != "ep_c" and endpoint not in excluding]
    assert earliest_due(conn, sorted(excluding)) == (from_micros(NOW_US + min(dues)) if dues else None)


def test_two_endpoints_share_the_limit_oldest_first() -> None:
    conn = database()
    insert(conn, [("ep_a", "pending", -3), ("ep_b", "pending", -4), ("ep_a", "pending", -2),
                  ("ep_a", "sending", -9), ("ep_b", "pending", 1), ("ep_c", "pending", -9)])
    taken = claim_due(conn, NOW, {"ep_a": 3}, 4, 10)
    assert [c.message_id for c in taken] == ["msg_1", "msg_0"]  # ep_a has one place; msg_4 is not due yet


def steps(backlog: int) -> int:
    """SQLite virtual-machine steps (in hundreds) that one claim and one next-due take with *backlog*
    messages waiting for one endpoint: the work, counted exactly, whatever the machine's speed."""
    conn = database()
    insert(conn, [("ep_a", "pending", -n) for n in range(backlog)])
    count = 0

    def step() -> int:
        nonlocal count
        count += 1
        return 0

    conn.set_progress_handler(step, 100)
    assert len(claim_due(conn, NOW, {}, 4, 64)) == 4
    earliest_due(conn, ["ep_a"])
    return count


def test_a_long_outbox_does_not_make_a_claim_slower() -> None:
    small, large = steps(100), steps(5000)
    assert large <= small + 2, (small, large)  # ranking every waiting message took ~50x the work here
