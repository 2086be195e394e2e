"""The policy matrix at booking: every model by party by role, booked and invited through the API, is
accepted exactly when docs/policy.md's table says so (the table is read from the document), and refused
otherwise with 422 naming the one bad field. Arrival: tests/signalling/test_policy_matrix.py."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from rooms.model import ConferencingModel
from tests.conftest import auth, booking
from tests.policy_table import CELLS, TABLE, Cell

HOST = {"display_name": "dr Anna Nowak", "role": "host", "party": "administration"}


def test_the_table_covers_every_model_and_hosts_are_always_officials() -> None:
    assert set(TABLE) == set(ConferencingModel)
    for row in TABLE.values():  # the matrix below books an official host into every model
        assert row.hosts <= row.parties and {p.value for p in row.hosts} == {"administration"}


@pytest.mark.parametrize("cell", CELLS, ids=[c.id for c in CELLS])
async def test_booking_and_inviting_follow_the_table(client: TestClient[Any, Any], cell: Cell) -> None:
    person = {"display_name": "Osoba", "role": cell.role.value, "party": cell.party.value}
    refused = cell.refused_field
    resp = await client.post("/api/v1/rooms", json=booking(model=cell.model.value, participants=[HOST, person]),
                             headers=auth())
    body = await resp.json()
    if refused is None:
        assert resp.status == 201, body
        row = TABLE[cell.model]
        policy = body["policy"]  # a consultation: recorded only when the model says so
        assert (set(policy["parties"]), set(policy["host_parties"]), set(policy["lobby_for"]), policy["identity"],
                policy["recording"]) == ({p.value for p in row.parties}, {p.value for p in row.hosts},
                                         {p.value for p in row.lobby}, row.identity, row.recording)
    else:
        assert resp.status == 422, body
        assert [e["pointer"] for e in body["errors"]] == [f"/participants/1/{refused}"]

    room = await client.post("/api/v1/rooms", json=booking(model=cell.model.value, participants=[HOST]),
                             headers=auth())
    assert room.status == 201
    resp = await client.post(f"/api/v1/rooms/{(await room.json())['id']}/participants", json=person, headers=auth())
    body = await resp.json()
    if refused is None:
        assert resp.status == 201 and (body["role"], body["party"]) == (cell.role.value, cell.party.value), body
    else:
        assert resp.status == 422, body
        assert [e["pointer"] for e in body["errors"]] == [f"/{refused}"]
