"""A media worker process: live rooms and an SFU on their own event loop (one core).

The front process starts ``python -m signalling.media_worker --fd N`` with one end
of a socket pair; the rooms pinned to this worker run here, and what they tell
clients goes back over the link for the front's Socket.IO server to deliver.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from rooms.clock import SystemClock
from rooms.events import RoomEvent
from rooms.revocation import Revocation, RevocationReason
from sfu import Sfu, SfuConfig
from signalling.live_room import LiveRooms
from signalling.messages import message_from_wire
from signalling.resources import raise_open_files_limit
from signalling.room_service import LocalRoomService
from signalling.wire import participant_from_wire, room_from_wire
from signalling.worker_link import Link, LinkClosed
from signalling.workflow import Workflows, load_workflows

__all__ = ["LinkDecisions", "LinkEvents", "LinkFrontCalls", "LinkNotifier", "LinkPresence", "main", "serve"]

log = logging.getLogger(__name__)
TOTALS_EVERY = 1.0
STOP_GRACE = 5.0  # after SIGTERM, how long the front has to close the link before the worker stops itself


async def _tell(link: Link, event: str, **params: Any) -> None:
    """Send *event* to the front; once the front has gone (it is stopping) there is no one to tell."""
    with contextlib.suppress(LinkClosed):
        await link.notify(event, **params)


class LinkNotifier:
    """The worker's `Notifier`: every client message goes to the front."""

    def __init__(self, link: Link) -> None:
        self.link = link

    async def to_sid(self, sid: str, event: str, data: Any) -> None:
        await _tell(self.link, "to_sid", sid=sid, name=event, data=data)

    async def to_room(self, room_id: str, event: str, data: Any, *, skip_sid: str | None = None) -> None:
        await _tell(self.link, "to_room", room_id=room_id, name=event, data=data, skip_sid=skip_sid)

    async def drop(self, sid: str, code: str, message: str, event: str = "connect",
                   details: dict[str, Any] | None = None) -> None:
        await _tell(self.link, "drop", sid=sid, code=code, message=message, about=event, details=details)

    async def enter_call(self, sid: str, room_id: str) -> None:
        await _tell(self.link, "enter_call", sid=sid, room_id=room_id)

    async def leave_call(self, sid: str, room_id: str) -> None:
        await _tell(self.link, "leave_call", sid=sid, room_id=room_id)

    async def reset_room(self, room_id: str) -> None:
        raise RuntimeError("a worker never resets rooms; the front does")


class LinkPresence:
    """The worker's presence sink: the front keeps the node's presence."""

    def __init__(self, link: Link) -> None:
        self.link = link

    async def joined(self, room_id: str, participant_id: str, at: datetime) -> None:
        await _tell(self.link, "joined", room_id=room_id, participant_id=participant_id, at=at.isoformat())

    async def publishing(self, room_id: str, participant_id: str, kinds: frozenset[str]) -> None:
        await _tell(self.link, "publishing", room_id=room_id, participant_id=participant_id,
                    kinds=sorted(kinds))

    async def left(self, room_id: str, participant_id: str) -> None:
        await _tell(self.link, "left", room_id=room_id, participant_id=participant_id)


class LinkEvents:
    """The worker's `EventSink`: the front holds the store, so its rooms' events go there, in order."""

    def __init__(self, link: Link) -> None:
        self.link = link

    async def record_events(self, events: Sequence[RoomEvent]) -> None:
        await _tell(self.link, "events", events=[event.as_json() for event in events])


class LinkDecisions:
    """The worker's `HostDecisions`: the front holds the booking service, so a host's removal or end
    is a call to the front (which revokes, calling this worker back, before it answers)."""

    def __init__(self, link: Link) -> None:
        self.link = link

    async def remove_participant(self, tenant: str, room_id: str, participant_id: str, by: str) -> None:
        await self.link.call("remove_participant", tenant=tenant, room_id=room_id, participant_id=participant_id,
                             by=by)

    async def end_meeting(self, tenant: str, room_id: str, by: str) -> None:
        await self.link.call("end_meeting", tenant=tenant, room_id=room_id, by=by)

    async def create_invite(self, tenant: str, room_id: str, purpose: str, minutes: int, by: str) -> dict[str, Any]:
        view: dict[str, Any] = await self.link.call("create_invite", tenant=tenant, room_id=room_id,
                                                    purpose=purpose, minutes=minutes, by=by)
        return view

    async def revoke_invite(self, tenant: str, room_id: str, invite_id: str, by: str) -> None:
        await self.link.call("revoke_invite", tenant=tenant, room_id=room_id, invite_id=invite_id, by=by)


class LinkFrontCalls:
    """The worker's `FrontCalls`: a workflow's call goes to the front, which holds the store."""

    def __init__(self, link: Link) -> None:
        self.link = link

    async def call(self, name: str, params: Mapping[str, Any]) -> Any:
        return await self.link.call("front_call", name=name, params=dict(params))


async def _call(service: LocalRoomService, method: str, p: dict[str, Any]) -> Any:
    """Run one call of the front on the local room service."""
    if method == "arrive":
        return await service.arrive(room_from_wire(p["room"]), participant_from_wire(p["participant"]),
                                    p["sid"])
    if method == "whip_publish":
        return list(await service.whip_publish(room_from_wire(p["room"]),
                                               participant_from_wire(p["participant"]), p["sdp"]))
    if method == "whep_subscribe":
        return list(await service.whep_subscribe(room_from_wire(p["room"]), participant_from_wire(p["viewer"]),
                                                 p["source_id"], p["sdp"]))
    simple: dict[str, Callable[[], Awaitable[Any]]] = {
        "socket_lost": lambda: service.socket_lost(p["room_id"], p["participant_id"], p["sid"]),
        "deliver": lambda: service.deliver(p["room_id"], p["sender_id"], message_from_wire(p["message"])),
        "end_session": lambda: service.end_session(p["room_id"], p["session_id"]),
        "revoke": lambda: service.revoke(Revocation(p["room_id"], RevocationReason(p["reason"]),
                                                    p["participant_id"])),
    }
    if method not in simple:
        raise ValueError(f"unknown call {method!r}")
    return await simple[method]()


async def serve(sock: socket.socket, media: SfuConfig, grace: float, workflows: Workflows | None = None) -> None:
    """Serve the front over *sock* until it goes away, then free everything."""
    reader, writer = await asyncio.open_connection(sock=sock)
    service: LocalRoomService | None = None
    latest: dict[str, int] = {}  # room id -> sequence number of the latest call started

    async def on_call(method: str, params: dict[str, Any]) -> Any:
        assert service is not None
        room_id = params["room"]["id"] if "room" in params else params["room_id"]
        latest[room_id] = max(latest.get(room_id, 0), params.pop("seq"))
        return await _call(service, method, params)

    def room_closed(room_id: str) -> None:
        rooms.spawn(_tell(link, "room_closed", room_id=room_id, seq=latest.pop(room_id, 0)))

    link = Link(reader, writer, on_call=on_call)
    rooms = LiveRooms(
        Sfu(media), LinkPresence(link), SystemClock(), LinkNotifier(link),
        reconnect_grace=grace,
        on_room_closed=room_closed,
        workflows=workflows,
        decisions=LinkDecisions(link),
        events=LinkEvents(link),
        front=LinkFrontCalls(link),
    )
    service = LocalRoomService(rooms)

    async def report_totals() -> None:
        while True:
            c = service.totals()
            await _tell(link, "totals", packets_forwarded=c.packets_forwarded,
                              bytes_forwarded=c.bytes_forwarded, publishers=c.publishers,
                              subscribers=c.subscribers)
            await asyncio.sleep(TOTALS_EVERY)

    reporter = asyncio.ensure_future(report_totals())
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[None]] = []

    def on_sigterm() -> None:
        # systemd signals the whole group: the front closes this link as it stops (its
        # clients told first); stop by ourselves only if it has not within STOP_GRACE.
        log.info("SIGTERM: stopping within %ss", STOP_GRACE)
        loop.call_later(STOP_GRACE, lambda: stopping.append(asyncio.ensure_future(link.close())))

    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    try:
        await link.run()
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        reporter.cancel()
        with contextlib.suppress(BaseException):
            await reporter
        await service.close()
        await link.close()


def install_event_loop_policy() -> str:
    """Use uvloop's event loop if it is installed (cheaper per packet); return which.

    ``KONSYLIUM_EVENT_LOOP=asyncio`` keeps asyncio's own loop (e.g. to compare).
    """
    if os.environ.get("KONSYLIUM_EVENT_LOOP", "").lower() == "asyncio":
        return "asyncio"
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Konsylium media worker (started by the front)")
    parser.add_argument("--fd", type=int, required=True, help="inherited socket to the front")
    parser.add_argument("--addresses", default="", help="comma-separated ICE host addresses")
    parser.add_argument("--announce", default="", help="comma-separated local=public pairs (1:1 NAT)")
    parser.add_argument("--grace", type=float, default=30.0, help="reconnect grace, seconds")
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--workflow", action="append", default=[], help="module:Class of a workflow (repeated)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        format=f"%(asctime)s %(levelname)s worker{args.index} %(name)s %(message)s",
        level=args.log_level.upper(),
    )
    for noisy in ("aioice", "aiortc"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    raise_open_files_limit()
    sock = socket.socket(fileno=args.fd)
    media = SfuConfig(
        addresses=tuple(a for a in args.addresses.split(",") if a),
        announced=tuple((local, public) for local, _, public in
                        (pair.partition("=") for pair in args.announce.split(",") if pair)),
    )
    log.debug("event loop: %s", install_event_loop_policy())
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(sock, media, args.grace, load_workflows(args.workflow)))


if __name__ == "__main__":
    main()
