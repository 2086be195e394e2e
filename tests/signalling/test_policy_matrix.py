"""The policy matrix at arrival: each model by party by role that docs/policy.md's table admits lands,
arriving live, where the table says: waiting when its party waits in the lobby (never a host), in the
call otherwise; in a locked room everyone but a host waits. Booking: tests/rooms/test_policy_matrix.py.

Every cell on the live room's fakes (fast; the unit tests' world), then the representative corners with
real sockets, in-process and in media workers.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from rooms.model import Kind, Participant, Party, Role, Room
from signalling.member import ParticipantState
from signalling.messages import Lock
from tests.conftest import auth
from tests.policy_table import CELLS, Cell
from tests.signalling.conftest import DOCTOR, LiveNode
from tests.signalling.world import NOW, build_world, settle

ADMITTED = [c for c in CELLS if c.refused_field is None]
LOCKS = [False, True]


def room_of(cell: Cell) -> tuple[Room, Participant, Participant]:
    """A meeting of the cell's model with an official host ``h`` and the cell's person ``x``."""
    rid = f"matrix-{cell.id}"
    host = Participant("h", rid, "Urzędniczka", Role.HOST, Party.ADMINISTRATION, "jti-h", NOW)
    person = Participant("x", rid, "Osoba", cell.role, cell.party, "jti-x", NOW)
    room = Room(rid, "portal", "Spotkanie", Kind.MEETING, cell.model, NOW, NOW + timedelta(hours=1), None, NOW, NOW,
                participants=(host, person))
    return room, host, person


@pytest.mark.parametrize("locked", LOCKS, ids=["open", "locked"])
@pytest.mark.parametrize("cell", ADMITTED, ids=[c.id for c in ADMITTED])
async def test_an_arrival_lands_where_the_table_says(cell: Cell, locked: bool) -> None:
    world = build_world()
    try:
        room, host, person = room_of(cell)
        if locked:
            await world.service.arrive(room, host, "sid-h")
            await world.service.deliver(room.id, "h", Lock())
        live = world.rooms.enter(room)
        expected = ParticipantState.WAITING if cell.waits(locked) else ParticipantState.IN_CALL
        assert live.may_watch(person) is (expected is ParticipantState.IN_CALL)  # WHEP follows the same rule
        await world.service.arrive(room, person, "sid-x")
        await settle()
        member = live.member("x")
        assert member is not None and member.state is expected
        assert world.notifier.to("sid-x", "welcome")[-1]["you"]["state"] == expected.value
        assert member.permissions.subscribe is (expected is ParticipantState.IN_CALL)
    finally:
        await world.service.close()


def test_the_matrix_has_every_admitted_cell_and_both_kinds_of_arrival() -> None:
    waiting = {c.id for c in ADMITTED if c.waits(False)}
    assert waiting == {f"{m}-{p}-{r}" for m, p in [("A2C", "citizen"), ("C2A", "citizen"), ("A2B", "business"),
                                                   ("B2A", "business")] for r in ("member", "viewer")}
    assert len(ADMITTED) == 3 + 4 * 5  # A2A: officials only; the others: officials, and their other side not hosting


# -- with real sockets -------------------------------------------------------------------------------------

#: (model, the person's (name, role, party), locked, expected state): the corners of the table.
CORNERS = [
    ("A2C", ("Jan Kowalski", "member", "citizen"), False, "waiting"),
    ("B2A", ("Firma Sp. z o.o.", "viewer", "business"), False, "waiting"),
    ("C2A", ("Urzędnik", "member", "administration"), False, "in_call"),
    ("A2B", ("Kierowniczka", "host", "administration"), True, "in_call"),
    ("A2A", ("Urzędnik", "member", "administration"), True, "waiting"),
]


@pytest.mark.parametrize(("model", "person", "locked", "state"), CORNERS,
                         ids=[f"{m}-{p[2]}-{p[1]}-{'locked' if locked else 'open'}" for m, p, locked, _ in CORNERS])
async def test_a_corner_of_the_table_over_socketio(live: LiveNode, model: str, person: tuple[str, str, str],
                                                   locked: bool, state: str) -> None:
    room = await live.book(DOCTOR, person, model=model)
    doctor_p, person_p = room["participants"]
    if locked:
        doctor = live.client(doctor_p["token"])
        await doctor.connect()
        assert await doctor.sio.call("lock", {}) == {"ok": True}
    arriving = live.client(person_p["token"])
    await arriving.connect()
    welcome: dict[str, Any] | None = arriving.welcome
    assert welcome is not None and welcome["you"]["state"] == state
    async with aiohttp.ClientSession() as http, http.get(f"{live.url}/api/v1/rooms/{room['id']}/live",
                                                         headers=auth()) as resp:
        states = {p["id"]: p["state"] for p in (await resp.json())["participants"]}
    assert states[person_p["id"]] == state  # the integrator's live view agrees
