"""A subscriber: one server-side connection sending forwarded tracks to a client."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from aiortc import RTCRtpCodecCapability, RTCRtpSender, RTCRtpTransceiver, RTCSessionDescription

from .config import SfuConfig
from .errors import InvalidAnswer, InvalidOffer, SfuClosedError, SfuError
from .events import Event
from .forwarder import ForwarderState, TrackForwarder
from .idle_track import IdleTrack
from .media import Codec
from .peer import ServerPeer, check_offer_sdp, local_description, media_kinds
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

    def __repr__(self) -> str:
        return f"Subscriber(id={self.id!r}, tracks={len(self._forwarders)})"

    @property
    def forwarders(self) -> tuple[TrackForwarder, ...]:
        """Forwarders of the tracks currently sent (with their stats and state)."""
        return tuple(self._forwarders.values())

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
        """Answer a client's offer (recvonly m-lines) with `tracks`, matched by kind in order."""
        self._check_open()
        check_offer_sdp(offer_sdp)
        added = [self.add_track(track) for track in _in_offer_order(list(tracks), media_kinds(offer_sdp))]
        try:
            try:
                await self._pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            except Exception as exc:
                raise InvalidOffer(f"cannot apply offer: {exc}") from exc
            missing = [f.source.id for f in added if f.mid is None]
            if missing:
                raise InvalidOffer(f"offer has no m-line for tracks {missing}")
            try:
                return await local_description(self._pc, self._config, "answer")
            except Exception as exc:
                raise InvalidOffer(f"cannot create answer: {exc}") from exc
        except InvalidOffer:
            for forwarder in added:
                self._forwarders.pop(forwarder.source.id, None)
                forwarder.close()
            raise

    async def create_offer(self) -> str:
        """Create the server's offer for the current tracks (send it to the client)."""
        self._check_open()
        return await local_description(self._pc, self._config, "offer")

    async def apply_answer(self, answer_sdp: str) -> None:
        """Apply the client's answer to `create_offer()`; media then starts flowing."""
        self._check_open()
        if not isinstance(answer_sdp, str) or not answer_sdp.strip():
            raise InvalidAnswer("SDP answer is empty")
        try:
            await self._pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))
        except Exception as exc:
            raise InvalidAnswer(f"cannot apply answer: {exc}") from exc

    def _source_ended(self, forwarder: TrackForwarder) -> None:
        if forwarder.state is ForwarderState.SOURCE_ENDED:
            self.on_track_ended.emit(forwarder.source)

    async def close(self) -> None:
        """Stop forwarding, close the connection and free everything (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for forwarder in self._forwarders.values():
            forwarder.close()
        self._forwarders.clear()
        await self._pc.close()
        self._on_closed(self)
        self.on_close.emit(self)
        self.on_close.clear()
        self.on_track_ended.clear()
        logger.info("subscriber %s closed", self.id)


def _in_offer_order(tracks: list[PublishedTrack], kinds: list[str]) -> list[PublishedTrack]:
    """Order *tracks* as the offer's m-lines by kind.

    aiortc pairs an offer's m-lines with existing transceivers by kind; when the
    transceivers were added in another order than the m-lines (a publisher sending
    audio first, a WHEP client offering video first), its BUNDLE answer came out
    with no ICE candidates at all. Adding them in the offer's order avoids that.
    """
    ordered: list[PublishedTrack] = []
    rest = list(tracks)
    for kind in kinds:
        match = next((t for t in rest if t.kind.value == kind), None)
        if match is not None:
            ordered.append(match)
            rest.remove(match)
    return ordered + rest


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
