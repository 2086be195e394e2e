"""The lobby with real sockets and media, in-process and in media workers: citizens in A2C wait,
receive nothing and send nothing (Socket.IO, WHIP and WHEP alike) until a host lets them in."""

from __future__ import annotations

from typing import Any

from tests.signalling.clients import Client, WhepViewer, bearer, client_pc, post, publish_offer, until
from tests.signalling.conftest import CITIZEN, DOCTOR, SECOND_CITIZEN, LiveNode


def lobby_ids(host: Client) -> list[str]:
    lobbies = host.named("lobby") or [host.welcome["lobby"] if host.welcome else {"waiting": []}]
    return [p["id"] for p in lobbies[-1]["waiting"]]


async def test_a_citizen_waits_until_a_host_admits(live: LiveNode) -> None:
    room = await live.book(DOCTOR, CITIZEN, SECOND_CITIZEN, model="A2C")
    doctor_p, citizen_p, second_p = room["participants"]
    doctor, citizen = live.client(doctor_p["token"]), live.client(citizen_p["token"])
    doctor.sio.on("lobby", doctor._recorder("lobby"))
    citizen.sio.on("admitted", citizen._welcome)
    await doctor.connect()
    assert (await doctor.publish())["ok"]
    await citizen.connect()
    assert citizen.welcome is not None and citizen.welcome["you"]["state"] == "waiting"
    await until(lambda: lobby_ids(doctor) == [citizen_p["id"]], what="the host sees the citizen waiting")
    assert (await citizen.publish())["error"]["code"] == "forbidden"
    status, _, body = await post(f"{live.url}/whep/{room['id']}?participant={doctor_p['id']}",
                                 await WhepViewer().offer(), bearer(citizen_p["token"]))
    assert status == 403, body  # no media over WHEP either while waiting
    status, _, _ = await post(f"{live.url}/whip/{room['id']}", await publish_offer(client_pc()),
                              bearer(second_p["token"]))
    assert status == 403  # nor WHIP
    assert citizen.named("subscriber_offer") == []
    assert not any(e["id"] == citizen_p["id"] for e in doctor.named("participant_joined"))

    assert (await doctor.sio.call("admit", {"participant_id": citizen_p["id"]})) == {"ok": True}
    await until(lambda: citizen.welcome is not None and citizen.welcome["you"]["state"] == "in_call",
                what="admitted")
    await until(lambda: (v := citizen.video_from(doctor_p["id"])) is not None and len(v.distinct) > 3,
                timeout=15, what="the admitted citizen decoding the host")
    assert (await citizen.publish())["ok"]
    await until(lambda: (v := doctor.video_from(citizen_p["id"])) is not None and len(v.distinct) > 3,
                timeout=15, what="the host decoding the citizen")
    await until(lambda: lobby_ids(doctor) == [], what="the lobby emptied")


async def test_a_denied_citizen_is_told_and_the_link_is_refused(live: LiveNode) -> None:
    room = await live.book(DOCTOR, CITIZEN, model="A2C")
    doctor_p, citizen_p = room["participants"]
    doctor, citizen = live.client(doctor_p["token"]), live.client(citizen_p["token"])
    doctor.sio.on("lobby", doctor._recorder("lobby"))
    await doctor.connect()
    await citizen.connect()
    await until(lambda: lobby_ids(doctor) == [citizen_p["id"]], what="waiting")
    ack: dict[str, Any] = await doctor.sio.call("deny", {"participant_id": citizen_p["id"],
                                                         "message": "Proszę przyjść jutro"})
    assert ack == {"ok": True}
    await until(lambda: not citizen.sio.connected, what="the denied socket closed")
    assert {"code": "denied", "event": "session", "message": "Proszę przyjść jutro",
            "host_message": "Proszę przyjść jutro"} in citizen.named("error")
    again = live.client(citizen_p["token"])  # the same link, again: turned away on arrival
    await again.sio.connect(live.url, auth={"token": citizen_p["token"]}, transports=["websocket"])
    await until(lambda: not again.sio.connected, what="the returning socket closed")
    assert [e["code"] for e in again.named("error")] == ["denied"] and again.welcome is None
    await until(lambda: lobby_ids(doctor) == [], what="the lobby emptied")


OFFICIAL = ("Piotr Urzędnik", "host", "administration")


async def test_the_lobby_survives_a_host_reconnect_and_several_hosts_see_one_admit(live: LiveNode) -> None:
    room = await live.book(DOCTOR, OFFICIAL, CITIZEN, model="A2C")
    first_p, second_p, citizen_p = room["participants"]
    first, second, citizen = (live.client(p["token"]) for p in (first_p, second_p, citizen_p))
    for host in (first, second):
        host.sio.on("lobby", host._recorder("lobby"))
    citizen.sio.on("lobby_status", citizen._recorder("lobby_status"))
    citizen.sio.on("admitted", citizen._welcome)
    await first.connect()
    await second.connect()
    await citizen.connect()
    assert citizen.welcome is not None and citizen.welcome["hosts_present"] is True
    for host in (first, second):
        await until(lambda h=host: lobby_ids(h) == [citizen_p["id"]], what="both hosts see the citizen")

    await first.sio.eio.disconnect(abort=True)  # the first host's network drops, no 'leave'
    back = live.client(first_p["token"])
    back.sio.on("lobby", back._recorder("lobby"))
    await back.connect()
    assert back.welcome is not None and back.welcome["resumed"] is True
    assert [p["id"] for p in back.welcome["lobby"]["waiting"]] == [citizen_p["id"]]  # still waiting
    assert citizen.welcome["you"]["state"] == "waiting"

    assert (await second.sio.call("admit", {"participant_id": citizen_p["id"]})) == {"ok": True}
    await until(lambda: citizen.welcome is not None and citizen.welcome["you"]["state"] == "in_call",
                what="admitted by the second host")
    for host in (back, second):  # the other host sees it happen: the lobby empties, the citizen joins
        await until(lambda h=host: lobby_ids(h) == [], what="the lobby emptied for every host")
        await until(lambda h=host: any(e["id"] == citizen_p["id"] for e in h.named("participant_joined")),
                    what="every host sees the citizen join")
