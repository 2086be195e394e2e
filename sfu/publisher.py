"""A publisher: one client's peer connection whose incoming tracks are forwarded."""

from __future__ import annotations

import logging
from collections.abc import Callable

from .aiortc_internals import negotiated_codecs, receiver_decoder_idle, tap_receiver
from .config import SfuConfig
from .errors import InvalidOffer, SfuClosedError, SfuError, UnknownTrack, UnsupportedCodec
from .events import Event
from .media import Codec, MediaKind, TrackSource
from .peer import ServerPeer, check_offer_sdp, close_connection
from .stats import SfuCounters
from .track import PublishedTrack

__all__ = ["Publisher"]

logger = logging.getLogger(__name__)


class Publisher(ServerPeer):
    """Receives a client's tracks on one aiortc connection and never decodes them.

    Created by `Sfu.create_publisher(offer_sdp)`, which also produces `answer` (the SDP
    to return to the client). Events: `on_track(track)` when a track goes live,
    `on_close(publisher)` when it closes (client left, connection failed or `close()`).
    """

    def __init__(
        self,
        publisher_id: str,
        config: SfuConfig,
        counters: SfuCounters,
        on_closed: Callable[[Publisher], None],
    ) -> None:
        self.answer = ""
        self.on_track: Event[PublishedTrack] = Event("publisher.track")
        self.on_close: Event[Publisher] = Event("publisher.close")
        super().__init__(publisher_id, config, counters)
        self._on_closed = on_closed
        self._tracks: dict[str, PublishedTrack] = {}

    def __repr__(self) -> str:
        return f"Publisher(id={self.id!r}, tracks={len(self._tracks)})"

    @property
    def tracks(self) -> tuple[PublishedTrack, ...]:
        """Negotiated tracks, in m-line order (they go live when the connection is up)."""
        return tuple(self._tracks.values())

    def decoders_idle(self) -> bool:
        """True if no track of this publisher runs a decoder (always, by design)."""
        return all(receiver_decoder_idle(r) for r in self._pc.getReceivers())

    def request_keyframe(self) -> None:
        """Ask for a keyframe on every video track (rate-limited)."""
        for track in self._tracks.values():
            track.request_keyframe()

    async def negotiate(self, offer_sdp: str, screen_mid: str | None = None) -> str:
        """Apply the client's first offer and return the answer SDP; the video sent on m-line
        *screen_mid* (if given) is a shared screen (`TrackSource.SCREEN`), the others their kind's device.

        Raises `InvalidOffer` (or `UnsupportedCodec`; `UnknownTrack` when the offer sends no video on
        *screen_mid*), or `NoCandidates` when the server cannot gather an ICE candidate, and leaves the
        publisher unusable (close it).
        """
        if self._closed:
            raise SfuClosedError(f"publisher {self.id} is closed")
        if self._tracks:
            raise InvalidOffer("publisher renegotiation is not supported; create a new publisher")
        offer = check_offer_sdp(offer_sdp)
        await self._apply_offer(offer)
        try:
            for transceiver in self._pc.getTransceivers():
                if transceiver.receiver.track is None:
                    continue  # the client does not send on this m-line
                codecs = negotiated_codecs(transceiver)
                codec = Codec.from_mime_type(codecs[0].mime_type) if codecs else None
                if codec is None:
                    name = codecs[0].mime_type if codecs else "none"
                    raise UnsupportedCodec(f"m-line {transceiver.mid}: codec {name[:40]} is not forwarded")
                track = PublishedTrack(
                    track_id=f"{self.id}:{transceiver.mid}",
                    publisher_id=self.id,
                    codec=codec,
                    negotiated=codecs[0],
                    receiver=transceiver.receiver,
                    keyframe_interval=self._config.keyframe_interval,
                    counters=self._counters,
                    source=TrackSource.SCREEN if transceiver.mid == screen_mid else None,
                )
                track.on_live.connect(self.on_track.emit)
                tap_receiver(
                    transceiver.receiver,
                    on_rtp=track.handle_rtp,
                    on_sender_report=track.handle_sender_report,
                    on_started=track.handle_started,
                )
                self._tracks[track.id] = track
        except SfuError:
            raise
        except Exception as exc:  # aiortc's view of what it just parsed
            raise InvalidOffer(f"cannot receive the offered media: {type(exc).__name__}") from exc
        if not self._tracks:
            raise InvalidOffer("offer sends no audio or video")
        if screen_mid is not None and not any(t.source is TrackSource.SCREEN and t.kind is MediaKind.VIDEO
                                              for t in self._tracks.values()):
            raise UnknownTrack(f"the offer sends no video on m-line {screen_mid[:32]!r}")
        self.answer = await self._create_answer(offer)
        logger.info("publisher %s negotiated %s tracks", self.id, len(self._tracks))
        return self.answer

    async def close(self) -> None:
        """Tell subscribers, stop the connection and free everything (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            for track in self._tracks.values():
                await track.end()
            await close_connection(self._pc)
        finally:
            self._on_closed(self)
            self.on_close.emit(self)
            self.on_track.clear()
            self.on_close.clear()
            logger.info("publisher %s closed", self.id)
