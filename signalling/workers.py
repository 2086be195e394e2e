"""Media worker processes: rooms spread over cores, each room pinned to one worker.

One asyncio loop is about one core, so the front process (HTTP, Socket.IO) keeps
no media: `WorkerRoomService` starts ``KONSYLIUM_WORKERS`` media workers, pins each
room to one of them through a `RoomPlacement`, and forwards the edges' calls to
it. What a room tells its clients comes back over the link and leaves through
the front's `Notifier`. A multi-node mode will place rooms on nodes through Redis
behind the same `RoomPlacement` and `RoomService` seams.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from rooms.events import EventSink, NoEvents, RoomEvent
from rooms.model import Participant, Room
from rooms.presence import LivePresence
from rooms.revocation import Revocation
from sfu import SfuConfig
from signalling.errors import NotJoined, NotPublishing
from signalling.front_calls import FrontCalls, LocalFrontCalls
from signalling.host_decisions import HostDecisions, NoDecisions
from signalling.live_room import Notifier
from signalling.messages import Message
from signalling.wire import participant_to_wire, room_to_wire
from signalling.worker_link import Link
from signalling.workflow import Meeting, Workflows, workflow_path

__all__ = ["LeastLoadedPlacement", "RoomPlacement", "WorkerRoomService", "WorkerTotals"]

log = logging.getLogger(__name__)


class RoomPlacement(Protocol):
    """Which worker a room lives on; a room stays where it was placed until it closes."""

    def place(self, room_id: str) -> int:
        """Return the room's worker, choosing one if the room has none yet."""

    def find(self, room_id: str) -> int | None: ...

    def release(self, room_id: str) -> None: ...

    def rooms_of(self, worker: int) -> list[str]: ...


class LeastLoadedPlacement:
    """Place a new room on the worker with the fewest rooms (single node)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._where: dict[str, int] = {}

    def place(self, room_id: str) -> int:
        if room_id not in self._where:
            load = [0] * self.workers
            for worker in self._where.values():
                load[worker] += 1
            self._where[room_id] = load.index(min(load))
        return self._where[room_id]

    def find(self, room_id: str) -> int | None:
        return self._where.get(room_id)

    def release(self, room_id: str) -> None:
        self._where.pop(room_id, None)

    def rooms_of(self, worker: int) -> list[str]:
        return [room for room, w in self._where.items() if w == worker]


@dataclass(slots=True)
class WorkerTotals:
    packets_forwarded: int = 0
    bytes_forwarded: int = 0
    publishers: int = 0
    subscribers: int = 0


@dataclass(eq=False)
class _Worker:
    index: int
    process: asyncio.subprocess.Process
    link: Link
    reader: asyncio.Task[None]
    totals: WorkerTotals = field(default_factory=WorkerTotals)


class WorkerRoomService:
    """`RoomService` whose rooms run in media worker processes."""

    def __init__(
        self,
        count: int,
        notifier: Notifier,
        presence: LivePresence,
        *,
        media: SfuConfig | None = None,
        grace: float = 30.0,
        log_level: str = "info",
        placement: RoomPlacement | None = None,
        workflows: Workflows | None = None,
        decisions: HostDecisions | None = None,
        events: EventSink | None = None,
        front: FrontCalls | None = None,
    ) -> None:
        if count < 1:
            raise ValueError("WorkerRoomService needs at least one worker")
        self.count = count
        self.notifier = notifier
        self.presence = presence
        self.events: EventSink = events or NoEvents()  # the workers' rooms' events (the store)
        self.decisions: HostDecisions = decisions or NoDecisions()  # what a worker's host decides
        self.front: FrontCalls = front or LocalFrontCalls()  # what a worker's workflows ask of the front
        self.placement = placement or LeastLoadedPlacement(count)
        media = media or SfuConfig()
        self._args = ["--addresses", ",".join(media.addresses),
                      "--announce", ",".join(f"{local}={public}" for local, public in media.announced),
                      "--grace", str(grace), "--log-level", log_level]
        for workflow in (workflows or Workflows()).all:  # each worker builds the same ones
            if not isinstance(workflow, Meeting):
                self._args += ["--workflow", workflow_path(workflow)]
        self._workers: dict[int, _Worker] = {}
        self._issued: dict[str, int] = {}  # room id -> sequence number of its latest call
        self._calls = itertools.count(1)
        self._starting = asyncio.Lock()
        self._closing = False

    # -- processes ------------------------------------------------------------

    async def start(self) -> None:
        """Start every worker now (otherwise they start with the first room)."""
        async with self._starting:
            for index in range(self.count):
                if index not in self._workers:
                    self._workers[index] = await self._spawn(index)

    async def _spawn(self, index: int) -> _Worker:
        ours, theirs = socket.socketpair()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "signalling.media_worker", "--fd", str(theirs.fileno()),
            "--index", str(index), *self._args, pass_fds=(theirs.fileno(),),
        )
        theirs.close()
        reader, writer = await asyncio.open_connection(sock=ours)
        link = Link(reader, writer, on_call=self._asked,
                    on_event=lambda name, params: self._event(index, name, params))
        task = asyncio.ensure_future(self._watch(index, link))
        log.info("media worker %s started pid=%s", index, process.pid)
        return _Worker(index, process, link, task)

    async def _watch(self, index: int, link: Link) -> None:
        await link.run()
        if self._closing:
            return
        log.error("media worker %s went away; its rooms are reset", index)
        worker = self._workers.pop(index, None)
        if worker is not None:
            with contextlib.suppress(ProcessLookupError):
                worker.process.kill()
            await worker.process.wait()
        for room_id in self.placement.rooms_of(index):
            self.placement.release(room_id)
            self._issued.pop(room_id, None)
            for person in await self.presence.live(room_id):
                await self.presence.left(room_id, person.participant_id)
            await self.notifier.to_room(room_id, "error", {
                "code": "media_restart", "event": "media",
                "message": "the media server restarted; reconnecting"})
            await self.notifier.reset_room(room_id)

    async def _worker(self, room_id: str, *, place: bool) -> _Worker:
        index = self.placement.place(room_id) if place else self.placement.find(room_id)
        if index is None:
            raise NotJoined("you are no longer in this room")
        if index not in self._workers:
            async with self._starting:
                if index not in self._workers:
                    self._workers[index] = await self._spawn(index)
        return self._workers[index]

    async def _event(self, index: int, name: str, p: dict[str, Any]) -> None:
        """Handle what worker *index* says, in the order it says it."""
        if name == "to_sid":
            await self.notifier.to_sid(p["sid"], p["name"], p["data"])
        elif name == "to_room":
            await self.notifier.to_room(p["room_id"], p["name"], p["data"], skip_sid=p["skip_sid"])
        elif name == "drop":
            await self.notifier.drop(p["sid"], p["code"], p["message"], p["about"], p["details"])
        elif name == "enter_call":
            await self.notifier.enter_call(p["sid"], p["room_id"])
        elif name == "leave_call":
            await self.notifier.leave_call(p["sid"], p["room_id"])
        elif name == "joined":
            await self.presence.joined(p["room_id"], p["participant_id"], datetime.fromisoformat(p["at"]))
        elif name == "publishing":
            await self.presence.publishing(p["room_id"], p["participant_id"], frozenset(p["kinds"]))
        elif name == "left":
            await self.presence.left(p["room_id"], p["participant_id"])
        elif name == "events":
            await self.events.record_events([RoomEvent.from_json(e) for e in p["events"]])
        elif name == "room_closed":
            # Release only if no call for the room left after the worker closed it: a
            # later call (an arrival) may be on its way to reopen it on the same worker.
            room_id = p["room_id"]
            if self.placement.find(room_id) == index and p["seq"] >= self._issued.get(room_id, 0):
                self.placement.release(room_id)
                self._issued.pop(room_id, None)
        elif name == "totals":
            worker = self._workers.get(index)
            if worker is not None:
                worker.totals = WorkerTotals(**p)
        else:
            log.warning("unknown event from media worker %s: %s", index, name[:40])

    async def _asked(self, method: str, p: dict[str, Any]) -> Any:
        """A worker's room asks the front for a host's decision, which only the front's booking service
        can record; its revocation calls the worker back (served concurrently) before this answers. Or its
        workflow asks for its records in the store (a front call, signalling/front_calls.py)."""
        if method == "front_call":
            return await self.front.call(p["name"], p["params"])
        if method == "remove_participant":
            await self.decisions.remove_participant(p["tenant"], p["room_id"], p["participant_id"], p["by"])
        elif method == "end_meeting":
            await self.decisions.end_meeting(p["tenant"], p["room_id"], p["by"])
        elif method == "create_invite":
            return await self.decisions.create_invite(p["tenant"], p["room_id"], p["purpose"], p["minutes"], p["by"])
        elif method == "revoke_invite":
            await self.decisions.revoke_invite(p["tenant"], p["room_id"], p["invite_id"], p["by"])
        else:
            raise ValueError(f"unknown call from a media worker: {method[:40]!r}")

    # -- RoomService ------------------------------------------------------------

    async def _call(self, target: str, method: str, *, place: bool = False, **params: Any) -> Any:
        """Call *method* on the worker of room *target* (placing the room if *place*)."""
        worker = await self._worker(target, place=place)
        seq = self._issued[target] = next(self._calls)
        return await worker.link.call(method, seq=seq, **params)

    async def arrive(self, room: Room, participant: Participant, sid: str) -> None:
        await self._call(room.id, "arrive", place=True, room=room_to_wire(room),
                         participant=participant_to_wire(participant), sid=sid)

    async def socket_lost(self, room_id: str, participant_id: str, sid: str) -> None:
        with contextlib.suppress(NotJoined):
            await self._call(room_id, "socket_lost", room_id=room_id, participant_id=participant_id, sid=sid)

    async def deliver(self, room_id: str, sender_id: str | None, message: Message) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(room_id, "deliver", room_id=room_id, sender_id=sender_id,
                                                  message=message.to_wire())
        return result

    async def whip_publish(self, room: Room, participant: Participant, sdp: str) -> tuple[str, str]:
        answer, session_id = await self._call(room.id, "whip_publish", place=True, room=room_to_wire(room),
                                              participant=participant_to_wire(participant), sdp=sdp)
        return answer, session_id

    async def whep_subscribe(self, room: Room, viewer: Participant, source_id: str, sdp: str) -> tuple[str, str]:
        if self.placement.find(room.id) is None:
            raise NotPublishing("that participant is not publishing now")
        answer, session_id = await self._call(room.id, "whep_subscribe", room=room_to_wire(room),
                                              viewer=participant_to_wire(viewer), source_id=source_id, sdp=sdp)
        return answer, session_id

    async def end_session(self, room_id: str, session_id: str) -> None:
        await self._call(room_id, "end_session", room_id=room_id, session_id=session_id)

    async def revoke(self, revocation: Revocation) -> None:
        if self.placement.find(revocation.room_id) is None:
            return  # not live on any worker
        with contextlib.suppress(NotJoined):
            await self._call(revocation.room_id, "revoke", room_id=revocation.room_id,
                             reason=revocation.reason.value, participant_id=revocation.participant_id)

    def totals(self) -> WorkerTotals:
        out = WorkerTotals()
        for worker in self._workers.values():
            for name in ("packets_forwarded", "bytes_forwarded", "publishers", "subscribers"):
                setattr(out, name, getattr(out, name) + getattr(worker.totals, name))
        return out

    async def close(self) -> None:
        """Stop every worker: close its link (it frees its media and exits), then wait."""
        self._closing = True
        for worker in list(self._workers.values()):
            await worker.link.close()
        for worker in list(self._workers.values()):
            try:
                await asyncio.wait_for(worker.process.wait(), 10)
            except TimeoutError:
                worker.process.kill()
                await worker.process.wait()
            worker.reader.cancel()
        self._workers.clear()
