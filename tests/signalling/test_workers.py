"""Media worker processes: placement, the link, spreading rooms, and a worker that dies."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from typing import Any

import pytest

from sfu import InvalidOffer
from signalling.messages import Publish
from signalling.room_service import NotJoined
from signalling.worker_link import Link, LinkClosed, RemoteError
from signalling.workers import LeastLoadedPlacement, WorkerRoomService
from tests.signalling.clients import until
from tests.signalling.conftest import DOCTOR, PATIENT, LiveNode


def test_placement_pins_rooms_to_the_least_loaded_worker() -> None:
    placement = LeastLoadedPlacement(2)
    assert [placement.place(r) for r in ("a", "b", "c", "a")] == [0, 1, 0, 0]
    assert placement.rooms_of(0) == ["a", "c"] and placement.find("b") == 1
    placement.release("a")
    placement.release("c")
    assert placement.place("d") == 0 and placement.find("a") is None


async def link_pair(on_call: Any = None, on_event: Any = None) -> tuple[Link, Link, list[asyncio.Task[None]]]:
    a_sock, b_sock = socket.socketpair()
    a = Link(*await asyncio.open_connection(sock=a_sock))
    b = Link(*await asyncio.open_connection(sock=b_sock), on_call=on_call, on_event=on_event)
    return a, b, [asyncio.ensure_future(a.run()), asyncio.ensure_future(b.run())]


async def test_link_calls_errors_events_and_closing() -> None:
    seen: list[int] = []

    async def on_call(method: str, params: dict[str, Any]) -> Any:
        if method == "echo":
            return params
        if method == "bad_sdp":
            raise InvalidOffer("no media")
        raise KeyError("boom")

    async def on_event(name: str, params: dict[str, Any]) -> None:
        seen.append(params["n"])

    front, worker, tasks = await link_pair(on_call, on_event)
    assert await front.call("echo", x=1, text="żółć") == {"x": 1, "text": "żółć"}
    with pytest.raises(InvalidOffer, match="no media"):
        await front.call("bad_sdp")
    with pytest.raises(RemoteError):
        await front.call("other")
    for n in range(50):
        await front.notify("n", n=n)
    await until(lambda: len(seen) == 50, what="events")
    assert seen == list(range(50))  # in order
    await worker.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    with pytest.raises(LinkClosed):
        await front.call("echo")


async def test_rooms_spread_over_workers(workers_live: LiveNode) -> None:
    live = workers_live
    assert isinstance(live.node.rooms, WorkerRoomService)
    rooms = [await live.book(DOCTOR, PATIENT) for _ in range(2)]
    clients = [live.client(r["participants"][0]["token"]) for r in rooms]
    for client in clients:
        await client.connect()
    placement = live.node.rooms.placement
    assert {placement.find(r["id"]) for r in rooms} == {0, 1}


async def test_a_dead_worker_resets_its_rooms_and_clients_come_back(workers_live: LiveNode) -> None:
    live = workers_live
    service = live.node.rooms
    assert isinstance(service, WorkerRoomService)
    room = await live.book(DOCTOR, PATIENT)
    doctor = live.client(room["participants"][0]["token"])
    await doctor.connect()
    index = service.placement.find(room["id"])
    assert index is not None
    os.kill(service._workers[index].process.pid, signal.SIGKILL)
    await until(lambda: any(e["code"] == "media_restart" for e in doctor.named("error")),
                what="clients told of the restart")
    await until(lambda: not doctor.sio.connected, what="sockets reset")
    assert service.placement.find(room["id"]) is None
    with pytest.raises(NotJoined):
        await service.deliver(room["id"], room["participants"][0]["id"], Publish("v=0"))
    again = live.client(room["participants"][0]["token"])
    await again.connect()  # a reconnect lands on a fresh worker
    assert (await again.publish())["ok"]
    assert await live.connected(room["id"]) == [room["participants"][0]["id"]]


async def test_leaving_and_coming_straight_back_works(tmp_path: Any) -> None:
    from tests.signalling.conftest import running_node

    async with running_node(tmp_path, 1) as live:
        room = await live.book(DOCTOR)
        token = room["participants"][0]["token"]
        for _ in range(8):
            client = live.client(token)
            await client.connect()
            assert (await client.sio.call("mute", {"kind": "audio", "muted": True}))["ok"]
            assert (await client.sio.call("leave", {}))["ok"]  # and straight back, no pause
        final = live.client(token)
        await final.connect()
        assert (await final.sio.call("mute", {"kind": "video", "muted": True}))["ok"]


async def test_a_late_room_closed_report_does_not_unpin_a_reopened_room() -> None:
    """Found by the signalling load test: a room closed, someone came straight back, and
    the worker's late 'closed' report unpinned the reopened room (then: not_joined)."""

    class Quiet:
        async def to_sid(self, *a: Any, **k: Any) -> None: ...
        async def to_room(self, *a: Any, **k: Any) -> None: ...
        async def drop(self, *a: Any) -> None: ...
        async def reset_room(self, room_id: str) -> None: ...

    from rooms.presence import LocalPresence

    service = WorkerRoomService(1, Quiet(), LocalPresence())
    service.placement.place("r")
    service._issued["r"] = 5  # the arrival that reopened the room was call 5
    await service._event(0, "room_closed", {"room_id": "r", "seq": 3})  # closed after call 3
    assert service.placement.find("r") == 0
    await service._event(0, "room_closed", {"room_id": "r", "seq": 5})
    assert service.placement.find("r") is None
