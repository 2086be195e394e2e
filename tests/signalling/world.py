"""The live room on fakes, for unit tests: one A2C room (`ROOM`) with its people (`PEOPLE`: ``a`` hosts,
``b`` and ``c`` are officials, ``v`` a viewer, ``w`` a citizen who waits), and a `World` that drives a
node's live rooms on the fakes of tests/signalling/fakes.py behind the real `LocalRoomService`.
Shared by the unit tests of the live room and of each room action (lobby, host controls, chat…)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rooms.clock import ManualClock
from rooms.model import ConferencingModel, Kind, Participant, Party, Role, Room
from rooms.presence import LocalPresence
from signalling.admission import Admission
from signalling.live_room import LiveRoom, LiveRooms, Member
from signalling.messages import Message, Publish, SubscriberAnswer
from signalling.room_service import LocalRoomService
from tests.signalling.fakes import FakeDecisions, FakeNotifier, FakePublisher, FakeSfu, FakeSubscriber

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
ROOM_ID = "room-1"


def person(pid: str, role: Role = Role.MEMBER, party: Party = Party.ADMINISTRATION) -> Participant:
    return Participant(id=pid, room_id=ROOM_ID, display_name=f"Person {pid}", role=role, party=party,
                       jti=f"jti-{pid}", created_at=NOW)


PEOPLE = {
    "a": person("a", Role.HOST),
    "b": person("b"),
    "c": person("c"),
    "v": person("v", Role.VIEWER),
    "w": person("w", party=Party.CITIZEN),  # waits in the lobby: citizens do in A2C
}
ROOM = Room(id=ROOM_ID, tenant="portal", title="Unit room", kind=Kind.MEETING, model=ConferencingModel.A2C,
            starts_at=NOW, ends_at=NOW + timedelta(hours=1), external_ref=None, created_at=NOW,
            updated_at=NOW, participants=tuple(PEOPLE.values()))


async def settle() -> None:
    """Let the room's background work (spawned broadcasts and renegotiations) run to its end.

    The fakes never wait on I/O, so a few turns of the loop are enough.
    """
    for _ in range(30):
        await asyncio.sleep(0)


@dataclass
class World:
    """One node's live rooms on fakes, and the people of `ROOM`."""

    rooms: LiveRooms
    service: LocalRoomService
    notifier: FakeNotifier
    sfu: FakeSfu
    presence: LocalPresence
    closed_rooms: list[str] = field(default_factory=list)
    decisions: FakeDecisions = field(default_factory=FakeDecisions)  # a host's removals and ends

    @property
    def live(self) -> LiveRoom:
        live = self.rooms.get(ROOM_ID)
        assert live is not None
        return live

    def member(self, pid: str) -> Member:
        member = self.live.member(pid)
        assert member is not None
        return member

    async def arrive(self, pid: str, sid: str | None = None) -> Member:
        """*pid* connects on socket *sid* (``sid-<pid>`` unless given): welcome and first offer."""
        await self.service.arrive(ROOM, PEOPLE[pid], sid or f"sid-{pid}")
        await settle()
        return self.member(pid)

    async def send(self, pid: str | None, message: Message) -> dict[str, Any]:
        """Deliver *message* from *pid* (None: the API) through the room service."""
        result = await self.service.deliver(ROOM_ID, pid, message)
        await settle()
        return result

    async def publish(self, pid: str, offer: str = "audio video", *, live: bool = True) -> FakePublisher:
        """*pid* publishes *offer*; with *live*, the connection comes up and its tracks flow."""
        await self.send(pid, Publish(offer))
        publisher = self.member(pid).publisher
        assert isinstance(publisher, FakePublisher)
        if live:
            publisher.go_live()
            await settle()
        return publisher

    def subscriber(self, pid: str) -> FakeSubscriber:
        subscriber = self.member(pid).subscriber
        assert isinstance(subscriber, FakeSubscriber)
        return subscriber

    def offers_to(self, pid: str) -> list[Any]:
        return self.notifier.to(f"sid-{pid}", "subscriber_offer")

    async def answer(self, pid: str) -> None:
        await self.send(pid, SubscriberAnswer("answer"))

    async def answer_all(self, pid: str) -> None:
        """Answer *pid*'s offers until no round is left (a track going live after another folds
        one more round into the first: the real tracks go live one by one, too)."""
        while self.member(pid).negotiation.in_flight:
            await self.answer(pid)

    async def presence_ids(self) -> list[str]:
        return [p.participant_id for p in await self.presence.live(ROOM_ID)]


WorldFactory = Callable[..., Awaitable[World]]


def build_world(**options: Any) -> World:
    """Live rooms on fakes; keyword arguments go to `LiveRooms` (close with ``world.service.close()``)."""
    notifier, sfu, presence = FakeNotifier(), FakeSfu(), LocalPresence()
    closed: list[str] = []
    decisions = FakeDecisions()
    settings: dict[str, Any] = {"ice_deadline": 60.0, "admission": Admission(max_peers=100),
                                "decisions": decisions, **options}
    rooms = LiveRooms(sfu, presence, ManualClock(NOW), notifier,  # type: ignore[arg-type]
                      on_room_closed=closed.append, **settings)
    service = LocalRoomService(rooms)
    decisions.revoke = service.revoke  # as the booking service would, once the store has it
    return World(rooms, service, notifier, sfu, presence, closed, decisions)
