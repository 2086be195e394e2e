"""Retention (rooms.retention): a consultation's title, names, note and pre-call checks are erased 30 days
(the default) after its end; its outcome code and its audit trail of ids stay and still verify; other kinds
are kept; a purged room takes no more changes; the policy is read from KONSYLIUM_RETENTION_DAYS."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st

from konsylium.app import NODE
from konsylium.settings import Settings, SettingsError
from rooms.clock import ManualClock, to_micros
from rooms.model import Kind
from rooms.retention import LONGEST, PURGED, RetentionPolicy
from tests.conftest import auth, book

Client = TestClient[Any, Any]


async def sql(client: Client, statement: str, params: tuple[Any, ...] = (), *, write: bool = False) -> list[Any]:
    def run(conn: sqlite3.Connection) -> list[Any]:
        return [tuple(row) for row in conn.execute(statement, params).fetchall()]

    result: list[Any] = await client.app[NODE].store.execute(run, write=write)
    return result


async def with_visit_details(client: Client, room: dict[str, Any]) -> None:
    """What telemed keeps about a visit: a completed outcome with a note, a pre-call check."""
    patient = next(p for p in room["participants"] if p["party"] == "citizen")
    now = to_micros(client.app[NODE].clock.now())
    await sql(client, "INSERT INTO visit_outcomes (room_id, tenant, in_call_us, outcome, note, completed_by,"
                      " completed_us, updated_us) VALUES (?, 'portal', 600000000, 'completed', ?, ?, ?, ?)",
              (room["id"], "Pacjent zgłasza ból w klatce piersiowej", room["participants"][0]["id"], now, now),
              write=True)
    await sql(client, "INSERT INTO prechecks (room_id, participant_id, camera, microphone, speaker, rtt_ms,"
                      " upstream_kbps, verdict, advice, at_us) VALUES (?, ?, 1, 1, 1, 40, 2000, 'video', '', ?)",
              (room["id"], patient["id"], now), write=True)


async def test_a_consultation_is_purged_30_days_after_its_end_keeping_ids_and_trail(
        client: Client, clock: ManualClock) -> None:
    visit = await book(client)
    meeting = await book(client, kind="meeting", model="A2A", participants=[
        {"display_name": "Rada", "role": "host", "party": "administration"}])
    await with_visit_details(client, visit)
    retention = client.app[NODE].retention
    clock.advance(timedelta(days=30))  # the visit ended 30 days minus 90 minutes ago: kept
    assert await retention.run_once() == 0
    clock.advance(timedelta(hours=2))
    assert await retention.run_once() == 1
    assert await retention.run_once() == 0  # once

    resp = await client.get(f"/api/v1/rooms/{visit['id']}", headers=auth())
    purged = await resp.json()
    assert purged["title"] == PURGED and purged["purged_at"] is not None
    assert {p["display_name"] for p in purged["participants"]} == {PURGED}
    assert [p["id"] for p in purged["participants"]] == [p["id"] for p in visit["participants"]]
    assert purged["external_ref"] == visit["external_ref"]  # the scheduler's own id stays
    assert await sql(client, "SELECT outcome, note, in_call_us FROM visit_outcomes WHERE room_id = ?",
                     (visit["id"],)) == [("completed", None, 600000000)]
    assert await sql(client, "SELECT COUNT(*) FROM prechecks WHERE room_id = ?", (visit["id"],)) == [(0,)]

    trail = await (await client.get(f"/api/v1/rooms/{visit['id']}/audit", headers=auth())).json()
    assert trail["verification"]["ok"] is True
    assert trail["entries"][-1]["event"]["type"] == "room.purged"
    assert trail["entries"][-1]["event"]["data"] == {"kind": "consultation"}

    kept = await (await client.get(f"/api/v1/rooms/{meeting['id']}", headers=auth())).json()
    assert kept["title"] == meeting["title"] and kept["purged_at"] is None  # meetings are kept by default

    edit = await client.patch(f"/api/v1/rooms/{visit['id']}", json={"title": "Nowy"}, headers=auth())
    assert edit.status == 409 and edit.content_type == "application/problem+json"
    invite = await client.post(f"/api/v1/rooms/{visit['id']}/participants", headers=auth(),
                               json={"display_name": "Ktoś", "role": "member", "party": "citizen"})
    assert invite.status == 409


async def test_a_cancelled_room_counts_from_its_cancellation(client: Client, clock: ManualClock) -> None:
    visit = await book(client, starts_at=(clock.now() + timedelta(days=60)).isoformat(),
                       ends_at=(clock.now() + timedelta(days=60, hours=1)).isoformat())
    assert (await client.delete(f"/api/v1/rooms/{visit['id']}", headers=auth())).status == 204
    clock.advance(timedelta(days=31))  # long before its booked end
    assert await client.app[NODE].retention.run_once() == 1


def test_the_policy_is_read_from_the_environment() -> None:
    assert Settings.from_env({}).retention == RetentionPolicy({Kind.CONSULTATION: timedelta(days=30)})
    both = Settings.from_env({"KONSYLIUM_RETENTION_DAYS": " consultation=7 , council_session=3650 "}).retention
    assert both.keep == {Kind.CONSULTATION: timedelta(days=7), Kind.COUNCIL_SESSION: timedelta(days=3650)}
    assert Settings.from_env({"KONSYLIUM_RETENTION_DAYS": "meeting=0"}).retention.keep == {Kind.MEETING: timedelta(0)}
    for bad in ("consultation", "consultation=x", "clinic=3", "consultation=1,consultation=2", "meeting=-1",
                f"meeting={LONGEST.days + 1}"):
        with pytest.raises(SettingsError, match="KONSYLIUM_RETENTION_DAYS"):
            Settings.from_env({"KONSYLIUM_RETENTION_DAYS": bad})


@given(st.text(max_size=80))
def test_any_policy_text_is_a_policy_or_a_clear_error(text: str) -> None:
    try:
        policy = Settings.from_env({"KONSYLIUM_RETENTION_DAYS": text}).retention
    except SettingsError as exc:
        assert "KONSYLIUM_RETENTION_DAYS" in str(exc)
    else:
        assert all(timedelta(0) <= period <= LONGEST for period in policy.keep.values())


@given(st.dictionaries(st.sampled_from(list(Kind)), st.integers(0, LONGEST.days)))
def test_a_written_policy_reads_back(days: dict[Kind, int]) -> None:
    text = ",".join(f"{kind.value}={n}" for kind, n in days.items())
    assert RetentionPolicy.parse(text).keep == {kind: timedelta(days=n) for kind, n in days.items()}
