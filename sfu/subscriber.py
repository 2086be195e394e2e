"""A subscriber: one server-side connection sending forwarded tracks to a client."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from aiortc import RTCRtpCodecCapability, RTCRtpSender, RTCRtpTransceiver

from .config import SfuConfig
from .errors import InvalidOffer, SfuClosedError, SfuError
from .events import Event
from .forwarder import ForwarderState, TrackForwarder
from .idle_track import IdleTrack
from .media import Codec
from .peer import ServerPeer, check_offer_sdp, close_connection, local_description
from .stats import SfuCounters
from .track import PublishedTrack

__all__ = ["Subscriber"]

logger = logging.getLogger(__name__)


class Subscriber(ServerPeer):
    """Sends chosen `PublishedTrack`s to one client, without transcoding.

    Two ways to negotiate:

    * client offers (WHEP): `answer(offer_sdp, tracks)` returns the answer SDP;
    * server offers (Socket.IO style): `add_track()` / `remove_track()`, then
      `create_offer()` and, with the client's answer, `apply_answer()`.

    Events: `on_track_ended(track)` when a forwarded track's publisher leaves (the
    signalling layer may then `remove_track` and renegotiate), `on_close(subscriber)`.
    """

    def __init__(
        self,
        subscriber_id: str,
        config: SfuConfig,
        counters: SfuCounters,
        on_closed: Callable[[Subscriber], None],
    ) -> None:
        self.on_track_ended: Event[PublishedTrack] = Event("subscriber.track_ended")
        self.on_close: Event[Subscriber] = Event("subscriber.close")
        super().__init__(subscriber_id, config, counters)
        self._on_closed = on_closed
        self._forwarders: dict[str, TrackForwarder] = {}
        self._paused = False

    def __repr__(self) -> str:
        return f"Subscriber(id={self.id!r}, tracks={len(self._forwarders)})"

    @property
    def forwarders(self) -> tuple[TrackForwarder, ...]:
        """Forwarders of the tracks currently sent (with their stats and state)."""
        return tuple(self._forwarders.values())

    @property
    def paused(self) -> bool:
        """True while this client receives nothing (a consultation's hold): every forwarder, present and
        added later, drops what it would send; on resume each restarts at a keyframe, without a gap."""
        return self._paused

    @paused.setter
    def paused(self, paused: bool) -> None:
        self._paused = paused
        for forwarder in self._forwarders.values():
            forwarder.paused = paused

    def forwarder(self, track: PublishedTrack) -> TrackForwarder | None:
        """The forwarder sending `track` to this subscriber, if any."""
        return self._forwarders.get(track.id)

    def request_keyframe(self, track: PublishedTrack) -> None:
        """Ask `track`'s publisher for a keyframe for this subscriber (rate-limited)."""
        forwarder = self._forwarders.get(track.id)
        if forwarder is not None:
            forwarder.request_keyframe()

    def _check_open(self) -> None:
        if self._closed:
            raise SfuClosedError(f"subscriber {self.id} is closed")

    def add_track(self, track: PublishedTrack) -> TrackForwarder:
        """Add a transceiver forwarding `track`; takes effect after the next negotiation."""
        self._check_open()
        if track.ended:
            raise SfuError(f"track {track.id} has ended")
        if track.id in self._forwarders:
            return self._forwarders[track.id]
        transceiver = self._pc.addTransceiver(IdleTrack(track.kind), direction="sendonly")
        transceiver.setCodecPreferences(_codec_preferences(track))
        forwarder = TrackForwarder(track, transceiver, self._counters, self._source_ended)
        forwarder.paused = self._paused
        self._forwarders[track.id] = forwarder
        return forwarder

    def remove_track(self, track: PublishedTrack) -> None:
        """Stop forwarding `track`; its m-line becomes inactive at the next negotiation."""
        forwarder = self._forwarders.pop(track.id, None)
        if forwarder is None:
            return
        forwarder.close()
        transceiver: RTCRtpTransceiver = forwarder.transceiver
        transceiver.direction = "inactive"

    async def answer(self, offer_sdp: str, tracks: Iterable[PublishedTrack]) -> str:
        """Answer a client's offer (recvonly m-lines, WHEP) with the tracks it asks for.

        Each audio/video m-line of the offer takes the next of `tracks` of its kind, in
        order: an audio-only offer gets the audio track only. An m-line whose kind none of
        `tracks` has is answered inactive; an offer matching no track at all is refused.
        On any failure (`InvalidOffer`, `NoCandidates`) the subscriber is closed, so a
        failed negotiation leaves nothing behind.
        """
        self._check_open()
        try:
            offer = check_offer_sdp(offer_sdp)
            chosen = _match_kinds(list(tracks), offer.kinds)
            if not any(chosen):
                available = sorted({t.kind.value for t in tracks})
                raise InvalidOffer(
                    f"offer has no m-line for any published track (offered {', '.join(offer.kinds)}; "
                    f"available {', '.join(available) or 'none'})"
                )
            added: list[TrackForwarder] = []
            for kind, track in zip(offer.kinds, chosen, strict=True):
                if track is None:  # a kind we do not have: answered inactive, never received on
                    self._pc.addTransceiver(kind, direction="inactive")
                else:
                    added.append(self.add_track(track))
            await self._apply_offer(offer)
            if any(f.mid is None for f in added):
                raise InvalidOffer("offer's m-lines could not be matched to the published tracks")
            sending = {id(f.transceiver) for f in added}
            for transceiver in self._pc.getTransceivers():
                if id(transceiver) not in sending:
                    transceiver.direction = "inactive"
            return await self._create_answer(offer)
        except BaseException:
            await self.close()
            raise

    async def create_offer(self) -> str:
        """Create the server's offer for the current tracks (send it to the client)."""
        self._check_open()
        return await local_description(self._pc, self._config, "offer")

    async def apply_answer(self, answer_sdp: str) -> None:
        """Apply the client's answer to `create_offer()`; media then starts flowing."""
        self._check_open()
        await self._apply_answer(answer_sdp)

    def _source_ended(self, forwarder: TrackForwarder) -> None:
        if forwarder.state is ForwarderState.SOURCE_ENDED:
            self.on_track_ended.emit(forwarder.source)

    async def close(self) -> None:
        """Stop forwarding, close the connection and free everything (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            for forwarder in self._forwarders.values():
                forwarder.close()
            self._forwarders.clear()
            await close_connection(self._pc)
        finally:
            self._on_closed(self)
            self.on_close.emit(self)
            self.on_close.clear()
            self.on_track_ended.clear()
            logger.info("subscriber %s closed", self.id)


def _match_kinds(tracks: list[PublishedTrack], kinds: tuple[str, ...]) -> list[PublishedTrack | None]:
    """For each offered m-line kind, in order, the next unused track of that kind (or None).

    Transceivers are added in the offer's order: aiortc pairs an offer's m-lines with
    existing transceivers by kind, and when they were added in another order than the
    m-lines its BUNDLE answer came out with no ICE candidates at all. Unmatched m-lines
    get an inactive transceiver of their own for the same reason.
    """
    rest = [t for t in tracks if not t.ended]
    chosen: list[PublishedTrack | None] = []
    for kind in kinds:
        match = next((t for t in rest if t.kind.value == kind), None)
        if match is not None:
            rest.remove(match)
        chosen.append(match)
    return chosen


def _codec_preferences(track: PublishedTrack) -> list[RTCRtpCodecCapability]:
    """Capabilities restricted to the publisher's codec (and RTX for video)."""
    capabilities = RTCRtpSender.getCapabilities(track.kind.value).codecs
    source = track.negotiated
    same_mime = [c for c in capabilities if c.mimeType.lower() == source.mime_type.lower()]
    exact = [c for c in same_mime if dict(c.parameters) == source.parameters]
    if track.codec is Codec.H264 and exact:
        same_mime = exact
    rtx = [c for c in capabilities if c.mimeType.lower() == "video/rtx"]
    return [*same_mime, *rtx]
