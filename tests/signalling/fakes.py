"""Fakes for unit tests of the live room: a notifier that records, and media without aiortc.

They stand in for exactly what `signalling.live_room` uses: the `Notifier` protocol,
and of `sfu` the `Sfu` (`create_publisher`, `create_subscriber`, `publishers`,
`subscribers`, `close`), `Publisher`, `Subscriber`, `PublishedTrack` and the
forwarders' `mid`/`source`. Their events are the SFU's own `Event`, and they keep
the real objects' rules that the live room relies on: a refused offer closes its
publisher, a closed peer refuses use (`SfuClosedError`), an ended track cannot be
added, `close()` is idempotent and emits `on_close` once. The real-peer tests in
this package check the same behaviour against aiortc.

A fake publish offer is the kinds it sends, as words: ``"audio video"``; an offer
with a word that is neither (``"refuse"``) is refused with `InvalidOffer`. Its m-lines' mids are
their positions (``"0"``, ``"1"``, …): ``screen_mid="2"`` of ``"audio video video"`` marks the
second video a shared screen; a mid with no video is refused with `UnknownTrack`, as the real one.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from rooms.admissions import AdmissionRecord, record_of
from rooms.events import RoomEvent
from rooms.revocation import Revocation, RevocationReason
from sfu import (
    Event,
    InvalidAnswer,
    InvalidOffer,
    MediaKind,
    NoCandidates,
    SfuClosedError,
    SfuError,
    TrackSource,
    UnknownTrack,
)

__all__ = ["FakeDecisions", "FakeForwarder", "FakeNotifier", "FakePublisher", "FakeSfu", "FakeSubscriber",
           "FakeTrack", "Sent"]


# -- the notifier -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """One call on the notifier: ``how`` is to_sid, to_room, drop or reset_room."""

    how: str
    target: str  # the sid, or the room id
    event: str  # the event; for a drop, its code
    data: Any = None  # for a drop, its message
    skip_sid: str | None = None


class FakeNotifier:
    """A `Notifier` that records every call, in order."""

    def __init__(self) -> None:
        self.calls: list[Sent] = []

    async def to_sid(self, sid: str, event: str, data: Any) -> None:
        self.calls.append(Sent("to_sid", sid, event, data))

    async def to_room(self, room_id: str, event: str, data: Any, *, skip_sid: str | None = None) -> None:
        self.calls.append(Sent("to_room", room_id, event, data, skip_sid))

    async def drop(self, sid: str, code: str, message: str, event: str = "connect",
                   details: dict[str, Any] | None = None) -> None:
        self.calls.append(Sent("drop", sid, code, message))

    async def enter_call(self, sid: str, room_id: str) -> None:
        self.calls.append(Sent("enter_call", sid, room_id))

    async def leave_call(self, sid: str, room_id: str) -> None:
        self.calls.append(Sent("leave_call", sid, room_id))

    async def reset_room(self, room_id: str) -> None:
        self.calls.append(Sent("reset_room", room_id, ""))

    # -- queries for the tests --

    def to(self, sid: str, event: str) -> list[Any]:
        """The data of every *event* sent to socket *sid* alone."""
        return [c.data for c in self.calls if c.how == "to_sid" and c.target == sid and c.event == event]

    def broadcasts(self, room_id: str, event: str) -> list[Sent]:
        """Every *event* sent to the whole room *room_id*."""
        return [c for c in self.calls if c.how == "to_room" and c.target == room_id and c.event == event]

    def drops(self) -> list[Sent]:
        return [c for c in self.calls if c.how == "drop"]

    def clear(self) -> None:
        self.calls.clear()


# -- a host's decisions ---------------------------------------------------------------------------------


class FakeDecisions:
    """`HostDecisions` without a store: records each decision, then revokes as the booking service does
    (through *revoke*, the room service's; unit tests have no sockets to end). *refuse*, when set, is
    raised instead (a removal the booking no longer has)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.revoke: Callable[[Revocation], Awaitable[None]] | None = None
        self.refuse: Exception | None = None

    async def _decide(self, call: tuple[str, ...], revocation: Revocation) -> None:
        if self.refuse is not None:
            raise self.refuse
        self.calls.append(call)
        if self.revoke is not None:
            await self.revoke(revocation)

    async def remove_participant(self, tenant: str, room_id: str, participant_id: str, by: str) -> None:
        await self._decide(("remove", tenant, room_id, participant_id, by),
                           Revocation(room_id, RevocationReason.PARTICIPANT_REMOVED, participant_id))

    async def end_meeting(self, tenant: str, room_id: str, by: str) -> None:
        await self._decide(("end", tenant, room_id, by), Revocation(room_id, RevocationReason.ROOM_ENDED))

    async def create_invite(self, tenant: str, room_id: str, purpose: str, minutes: int, by: str) -> dict[str, Any]:
        if self.refuse is not None:
            raise self.refuse
        self.calls.append(("invite", tenant, room_id, purpose, str(minutes), by))
        return {"id": f"invite-{len(self.calls)}", "purpose": purpose, "url": "http://node/invite/code"}

    async def revoke_invite(self, tenant: str, room_id: str, invite_id: str, by: str) -> None:
        if self.refuse is not None:
            raise self.refuse
        self.calls.append(("revoke_invite", tenant, room_id, invite_id, by))


# -- media ----------------------------------------------------------------------------------------------


class FakeTrack:
    """A `PublishedTrack`: id ``"<publisher id>:<mid>"``, its kind, live once the connection is up."""

    def __init__(self, publisher_id: str, kind: MediaKind, mid: str, source: TrackSource | None = None) -> None:
        self.id = f"{publisher_id}:{mid}"
        self.publisher_id = publisher_id
        self.kind = kind
        self.source = source or TrackSource.default(kind)
        self.live = False
        self.ended = False
        self.paused = False  # a host's mute or a hold: the real one forwards nothing of it
        self.on_live: Event[FakeTrack] = Event("track.live")
        self.on_ended: Event[FakeTrack] = Event("track.ended")
        self.on_audio_level: Event[int] = Event("track.audio_level")

    def __repr__(self) -> str:
        return f"FakeTrack({self.id!r}, {self.kind.value})"

    def go_live(self) -> None:
        """Media starts flowing (the real track's receiver started)."""
        if not self.live and not self.ended:
            self.live = True
            self.on_live.emit(self)

    async def end(self) -> None:
        if not self.ended:
            self.ended = True
            self.on_ended.emit(self)


class _FakePeer:
    """What publishers and subscribers share: an id, a connection state, an idempotent close."""

    def __init__(self, peer_id: str, on_closed: Any) -> None:
        self.id = peer_id
        self.closed = False
        self.connection_state = "new"
        self._on_closed = on_closed

    def _check_open(self) -> None:
        if self.closed:
            raise SfuClosedError(f"{self.id} is closed")

    def connect(self) -> None:
        """ICE and DTLS succeeded."""
        self.connection_state = "connected"


class FakePublisher(_FakePeer):
    """A `Publisher` with one track per kind offered; `go_live` makes them flow (``on_track``)."""

    def __init__(self, publisher_id: str, kinds: list[MediaKind], on_closed: Any,
                 screen_mid: str | None = None) -> None:
        super().__init__(publisher_id, on_closed)
        self.answer = ""
        self.on_track: Event[FakeTrack] = Event("publisher.track")
        self.on_close: Event[FakePublisher] = Event("publisher.close")
        self.tracks = tuple(FakeTrack(publisher_id, kind, str(mid), TrackSource.SCREEN if str(mid) == screen_mid
                                      else None) for mid, kind in enumerate(kinds))
        for track in self.tracks:
            track.on_live.connect(self.on_track.emit)

    def __repr__(self) -> str:
        return f"FakePublisher({self.id!r})"

    def go_live(self, *kinds: MediaKind) -> None:
        """The connection is up: its tracks (of *kinds*, or all) go live."""
        self.connect()
        for track in self.tracks:
            if not kinds or track.kind in kinds:
                track.go_live()

    def track(self, kind: MediaKind) -> FakeTrack:
        """The first track of *kind* (the camera's, of video)."""
        return next(t for t in self.tracks if t.kind is kind)

    def screen(self) -> FakeTrack | None:
        """The shared screen's track, if the offer marked one."""
        return next((t for t in self.tracks if t.source is TrackSource.SCREEN), None)

    async def lose(self) -> None:
        """The connection failed from below (the client went away): the publisher closes itself."""
        self.connection_state = "failed"
        await self.close()

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for track in self.tracks:
            await track.end()
        self._on_closed(self)
        self.on_close.emit(self)
        self.on_track.clear()
        self.on_close.clear()


@dataclass(eq=False, slots=True)
class FakeForwarder:
    """A `TrackForwarder`: the track it sends and its m-line (None until an offer assigns one)."""

    source: FakeTrack
    mid: str | None = None


class FakeSubscriber(_FakePeer):
    """A `Subscriber` negotiated by server offers: `add_track`, `create_offer`, `apply_answer`.

    `refuse_answers` makes `apply_answer` raise `InvalidAnswer`; `no_candidates` makes
    `create_offer` raise `NoCandidates`. `offers` and `answers` record the rounds.
    """

    def __init__(self, subscriber_id: str, on_closed: Any) -> None:
        super().__init__(subscriber_id, on_closed)
        self.on_close: Event[FakeSubscriber] = Event("subscriber.close")
        self.on_track_ended: Event[FakeTrack] = Event("subscriber.track_ended")
        self._forwarders: dict[str, FakeForwarder] = {}
        self._mids = itertools.count()
        self.offers: list[str] = []
        self.answers: list[str] = []
        self.refuse_answers = False
        self.no_candidates = False
        self.paused = False  # a hold: the real one forwards nothing to its client

    def __repr__(self) -> str:
        return f"FakeSubscriber({self.id!r})"

    @property
    def forwarders(self) -> tuple[FakeForwarder, ...]:
        return tuple(self._forwarders.values())

    @property
    def sending(self) -> set[str]:
        """Ids of the tracks forwarded now."""
        return set(self._forwarders)

    def add_track(self, track: FakeTrack) -> FakeForwarder:
        self._check_open()
        if track.ended:
            raise SfuError(f"track {track.id} has ended")
        if track.id not in self._forwarders:
            self._forwarders[track.id] = FakeForwarder(track)
        return self._forwarders[track.id]

    def remove_track(self, track: FakeTrack) -> None:
        self._forwarders.pop(track.id, None)

    async def create_offer(self) -> str:
        self._check_open()
        if self.no_candidates:
            raise NoCandidates("no ICE candidate (fake)")
        for forwarder in self._forwarders.values():
            if forwarder.mid is None:
                forwarder.mid = str(next(self._mids))
        offer = "offer " + " ".join(sorted(self._forwarders))
        self.offers.append(offer)
        return offer

    async def apply_answer(self, answer_sdp: str) -> None:
        self._check_open()
        if self.refuse_answers:
            raise InvalidAnswer("the answer does not fit the offer (fake)")
        self.answers.append(answer_sdp)

    async def lose(self) -> None:
        """The connection failed from below: the subscriber closes itself."""
        self.connection_state = "failed"
        await self.close()

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._forwarders.clear()
        self._on_closed(self)
        self.on_close.emit(self)
        self.on_close.clear()
        self.on_track_ended.clear()


class FakeSfu:
    """An `Sfu` of fakes. `hold`, when set to an unset asyncio.Event, keeps `create_publisher`
    negotiating until it is set (a publish offer in flight); while `no_candidates` is True, new
    subscribers cannot gather (their `create_offer` raises `NoCandidates`)."""

    def __init__(self) -> None:
        self._publishers: dict[str, FakePublisher] = {}
        self._subscribers: dict[str, FakeSubscriber] = {}
        self.created_publishers: list[FakePublisher] = []
        self.created_subscribers: list[FakeSubscriber] = []
        self.hold: asyncio.Event | None = None
        self.no_candidates = False
        self.closed = False

    @property
    def publishers(self) -> Mapping[str, FakePublisher]:
        return MappingProxyType(self._publishers)

    @property
    def subscribers(self) -> Mapping[str, FakeSubscriber]:
        return MappingProxyType(self._subscribers)

    def _check_open(self) -> None:
        if self.closed:
            raise SfuClosedError("SFU is closed")

    async def create_publisher(self, offer_sdp: str, *, publisher_id: str | None = None,
                               screen_mid: str | None = None) -> FakePublisher:
        self._check_open()
        publisher_id = publisher_id or f"pub{len(self.created_publishers)}"
        if publisher_id in self._publishers:
            raise SfuError(f"publisher {publisher_id} already exists")
        words = offer_sdp.split()
        kinds = [MediaKind(w) for w in words if w in ("audio", "video")]
        publisher = FakePublisher(publisher_id, kinds, lambda p: self._publishers.pop(p.id, None), screen_mid)
        self._publishers[publisher_id] = publisher  # counted while it negotiates, as the real one
        self.created_publishers.append(publisher)
        try:
            if self.hold is not None:
                await self.hold.wait()
            if not kinds or len(kinds) != len(words):
                raise InvalidOffer("offer sends no audio or video (fake)")
            screen = publisher.screen()
            if screen_mid is not None and (screen is None or screen.kind is not MediaKind.VIDEO):
                raise UnknownTrack(f"the offer sends no video on m-line {screen_mid[:32]!r} (fake)")
            publisher.answer = "answer " + offer_sdp
        except BaseException:
            await publisher.close()
            raise
        return publisher

    def create_subscriber(self, *, subscriber_id: str | None = None) -> FakeSubscriber:
        self._check_open()
        subscriber_id = subscriber_id or f"sub{len(self.created_subscribers)}"
        if subscriber_id in self._subscribers:
            raise SfuError(f"subscriber {subscriber_id} already exists")
        subscriber = FakeSubscriber(subscriber_id, lambda s: self._subscribers.pop(s.id, None))
        subscriber.no_candidates = self.no_candidates
        self._subscribers[subscriber_id] = subscriber
        self.created_subscribers.append(subscriber)
        return subscriber

    async def close(self) -> None:
        self.closed = True
        for subscriber in list(self._subscribers.values()):
            await subscriber.close()
        for publisher in list(self._publishers.values()):
            await publisher.close()


# -- room events -----------------------------------------------------------------------------------------


class FakeEvents:
    """An `EventSink` that keeps the events in memory; *fail*: raise instead (a store gone)."""

    def __init__(self) -> None:
        self.events: list[RoomEvent] = []
        self.fail = False

    async def record_events(self, events: Sequence[RoomEvent]) -> None:
        if self.fail:
            raise RuntimeError("the store is gone")
        self.events += events

    @property
    def records(self) -> list[AdmissionRecord]:
        """The admission records the store would keep of these events."""
        return [r for r in map(record_of, self.events) if r is not None]
