"""What happens in a live room becomes room events (rooms.events): on fakes, the sequence a meeting
with a lobby makes; on a real node, in-process and in media workers, the room's audit chain after a
call with a lobby, a denial, a host's mute and a removal, verified, with ids only."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from signalling.messages import Admit, Deny, Leave, MuteParticipant
from tests.conftest import auth
from tests.signalling.conftest import CITIZEN, DOCTOR, PATIENT, SECOND_CITIZEN, LiveNode
from tests.signalling.fakes import FakeEvents
from tests.signalling.world import ROOM_ID, World, settle


async def test_a_meeting_with_a_lobby_tells_what_happened_in_order(recorded_world: tuple[World, FakeEvents]) -> None:
    world, recorded = recorded_world
    await world.arrive("a")
    await world.arrive("b")
    await world.arrive("w")
    await world.send("a", Admit("w"))
    await world.send("a", MuteParticipant("w", "audio"))
    await world.send("b", Leave())
    await settle()
    seen = [(e.type, e.participant_id, e.by, dict(e.data)) for e in recorded.events]
    assert seen == [
        ("room.started", None, None, {}),
        ("participant.joined", "a", None, {"role": "host"}),
        ("participant.joined", "b", None, {"role": "member"}),
        ("lobby.waiting", "w", None, {"party": "citizen"}),
        ("lobby.admitted", "w", "a", {}),
        ("participant.joined", "w", None, {"role": "member"}),
        ("participant.muted_by_host", "w", "a", {"kind": "audio"}),
        ("participant.left", "b", None, {"reason": "left", "from": "call"}),
    ]
    assert {e.tenant for e in recorded.events} == {"portal"} and {e.room_id for e in recorded.events} == {ROOM_ID}


async def test_a_denial_and_a_reconnect(recorded_world: tuple[World, FakeEvents]) -> None:
    world, recorded = recorded_world
    await world.arrive("a")
    await world.arrive("w")
    await world.send(None, Deny("w"))
    world.live.socket_lost(world.member("a"), "sid-a")
    await world.arrive("a")  # back within the grace: not a new join
    await settle()
    seen = [(e.type, e.participant_id, e.by) for e in recorded.events][2:]
    assert seen == [("lobby.waiting", "w", None), ("lobby.denied", "w", "api"), ("participant.left", "w", None)]
    assert recorded.events[-1].data == {"reason": "denied", "from": "lobby"}


# -- on a real node ------------------------------------------------------------------------------------


async def trail(live: LiveNode, room_id: str) -> Any:
    async with aiohttp.ClientSession() as http, http.get(f"{live.url}/api/v1/rooms/{room_id}/audit",
                                                         headers=auth()) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def test_a_real_call_leaves_a_verified_trail(live: LiveNode) -> None:
    room = await live.book(DOCTOR, CITIZEN, SECOND_CITIZEN, PATIENT, model="A2C")
    doctor_p, citizen_p, second_p, official_p = room["participants"]
    doctor, citizen, second, official = (live.client(p["token"]) for p in room["participants"])
    await doctor.connect()
    await official.connect()
    await citizen.connect()
    await second.connect()
    assert await doctor.sio.call("admit", {"participant_id": citizen_p["id"]}) == {"ok": True}
    assert await doctor.sio.call("deny", {"participant_id": second_p["id"]}) == {"ok": True}
    assert (await citizen.publish())["ok"]
    assert await doctor.sio.call("mute_participant", {"participant_id": citizen_p["id"], "kind": "audio"}) \
        == {"ok": True}
    assert await doctor.sio.call("remove_participant", {"participant_id": official_p["id"]}) == {"ok": True}
    wanted = ["booking.created", "room.started", "participant.joined", "participant.joined", "lobby.waiting",
              "lobby.waiting", "lobby.admitted", "participant.joined", "lobby.denied", "participant.left",
              "participant.muted_by_host", "participant.removed", "participant.left"]

    async def types() -> list[str]:
        return [e["event"]["type"] for e in (await trail(live, room["id"]))["entries"]]

    seen: list[str] = []

    async def arrived() -> bool:
        seen[:] = await types()
        return len(seen) >= len(wanted)

    await until_async(arrived, what="the call's events in the trail")
    assert seen == wanted
    body = await trail(live, room["id"])
    assert body["verification"]["ok"] is True
    by_type = {e["event"]["type"]: e["event"] for e in body["entries"]}
    assert by_type["lobby.admitted"]["by"] == doctor_p["id"]
    assert by_type["participant.removed"]["by"] == doctor_p["id"]  # the host, not the API
    assert by_type["participant.muted_by_host"]["data"] == {"kind": "audio"}
    text = str(body)
    for person in room["participants"]:
        assert person["display_name"] not in text and person["token"] not in text


async def until_async(check: Callable[[], Awaitable[bool]], *, what: str, timeout: float = 10) -> None:
    """Poll an async *check* until it holds (the worker link tells the front a moment later)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
