"""A track received from a publisher, fanned out to the forwarders of its subscribers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, Protocol

from aiortc import RTCRtpReceiver

from .aiortc_internals import NegotiatedCodec, ReceiveLayout, audio_level, send_pli
from .events import Event
from .keyframe_requester import KeyframeRequester
from .keyframes import is_keyframe_start
from .media import Codec, MediaKind, TrackSource
from .stats import SfuCounters, TrackStats

__all__ = ["PacketSink", "PublishedTrack"]

logger = logging.getLogger(__name__)


class PacketSink(Protocol):
    """What a published track forwards to (one per subscriber; see `TrackForwarder`)."""

    @property
    def wants_keyframe(self) -> bool:
        """True while the sink drops packets until a keyframe begins."""

    def forward(self, packet: Any, keyframe_start: bool) -> Awaitable[None] | None:
        """Forward one RTP packet (already RTX-unwrapped).

        Returns None if done, or an awaitable to await before the next packet.
        """

    def set_sender_report_clock(self, ntp_timestamp: int, rtp_timestamp: int) -> None:
        """Take the publisher's latest NTP/RTP timestamp pair (RTCP SR)."""

    def source_restarted(self) -> None:
        """The publisher's stream restarted (new SSRC and sequence numbers)."""

    def source_ended(self) -> None:
        """The publisher of this track left."""


class PublishedTrack:
    """One audio or video track a publisher sends, identified by `id`.

    Events: `on_live` when media can start flowing (the receiver started), `on_ended`
    when the publisher leaves, `on_audio_level` with every RFC 6464 level (audio only).

    `paused` (a host's mute) stops forwarding at the SFU whatever the client sends:
    packets are still received and counted, none reach a subscriber. On resume the
    subscribers restart at a keyframe with no sequence gap.

    `source` says what it shows (`TrackSource`: microphone, camera, or a shared screen); it
    changes nothing in forwarding, only what clients are told about the track.
    """

    def __init__(
        self,
        *,
        track_id: str,
        publisher_id: str,
        codec: Codec,
        negotiated: NegotiatedCodec,
        receiver: RTCRtpReceiver,
        keyframe_interval: float,
        counters: SfuCounters,
        source: TrackSource | None = None,
    ) -> None:
        self.id = track_id
        self.publisher_id = publisher_id
        self.codec = codec
        self.kind: MediaKind = codec.kind
        self.source = source or TrackSource.default(self.kind)
        self.negotiated = negotiated
        self.stats = TrackStats()
        self.on_live: Event[PublishedTrack] = Event("track.live")
        self.on_ended: Event[PublishedTrack] = Event("track.ended")
        self.on_audio_level: Event[int] = Event("track.audio_level")
        self._receiver = receiver
        self._counters = counters
        self._sinks: list[PacketSink] = []
        self._media_ssrc: int | None = None
        self._sender_report: tuple[int, int] | None = None
        self._live = False
        self._ended = False
        self._paused = False
        self._requester: KeyframeRequester | None = None
        if self.kind is MediaKind.VIDEO:
            self._requester = KeyframeRequester(self._send_pli, keyframe_interval)

    def __repr__(self) -> str:
        return f"PublishedTrack(id={self.id!r}, codec={self.codec.name})"

    @property
    def live(self) -> bool:
        """True once the publisher's connection is up for this track."""
        return self._live

    @property
    def ended(self) -> bool:
        """True once the publisher left."""
        return self._ended

    @property
    def paused(self) -> bool:
        """True while nothing received is forwarded (a host muted this track)."""
        return self._paused

    @paused.setter
    def paused(self, paused: bool) -> None:
        if paused == self._paused:
            return
        self._paused = paused
        logger.info("track %s %s", self.id, "paused" if paused else "resumed")
        if paused or self._ended:
            return
        for sink in self._sinks:  # continue without a gap, from a keyframe
            sink.source_restarted()
        self.request_keyframe()

    @property
    def subscriber_count(self) -> int:
        """Number of forwarders attached."""
        return len(self._sinks)

    @property
    def sender_report(self) -> tuple[int, int] | None:
        """Latest (NTP, RTP timestamp) pair of the publisher's RTCP SR, if any."""
        return self._sender_report

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe (rate-limited; no-op for audio)."""
        if self._requester is None or self._ended:
            return
        self.stats.keyframe_requests_received += 1
        self._requester.request()

    def attach(self, sink: PacketSink) -> None:
        """Start forwarding to `sink`."""
        if sink not in self._sinks:
            self._sinks.append(sink)
            if self._sender_report is not None:
                sink.set_sender_report_clock(*self._sender_report)

    def detach(self, sink: PacketSink) -> None:
        """Stop forwarding to `sink`."""
        if sink in self._sinks:
            self._sinks.remove(sink)

    async def _send_pli(self) -> bool:
        if self._media_ssrc is None or self._ended:
            return False
        await send_pli(self._receiver, self._media_ssrc)
        self.stats.keyframe_requests_sent += 1
        self._counters.keyframe_requests_sent += 1
        logger.debug("PLI sent for track %s", self.id)
        return True

    def handle_started(self, layout: ReceiveLayout) -> None:
        """The receiver started (called by the aiortc tap)."""
        if layout.media_ssrc is not None:
            self._media_ssrc = layout.media_ssrc
        self._live = True
        logger.info("track %s live (%s)", self.id, self.codec.name)
        self.on_live.emit(self)

    async def handle_rtp(self, packet: Any, repaired: bool) -> None:
        """Fan one RTP packet out to every sink (called by the aiortc tap)."""
        stats = self.stats
        size = len(packet.payload)
        stats.packets_received += 1
        stats.bytes_received += size
        self._counters.packets_received += 1
        self._counters.bytes_received += size
        if repaired:
            stats.packets_repaired += 1
        if self._media_ssrc != packet.ssrc:
            if repaired and self._media_ssrc is not None:
                return  # a late repair of a stream the publisher has since restarted
            self._ssrc_changed(packet.ssrc)
        if self._paused:
            return  # received and counted, never forwarded (nor heard by the active-speaker detector)
        if self.kind is MediaKind.AUDIO and len(self.on_audio_level):
            level = audio_level(packet)
            if level is not None:
                self.on_audio_level.emit(level)
        sinks = self._sinks
        if not sinks:
            return
        keyframe_start = False
        for sink in sinks:
            if sink.wants_keyframe:
                keyframe_start = is_keyframe_start(self.codec, packet.payload)
                break
        for sink in tuple(sinks):
            pending = sink.forward(packet, keyframe_start)
            if pending is not None:
                await pending

    def _ssrc_changed(self, ssrc: int) -> None:
        previous, self._media_ssrc = self._media_ssrc, ssrc
        if previous is None:
            # A keyframe asked for before the first packet could not be sent: ask now.
            if self._requester is not None and any(s.wants_keyframe for s in self._sinks):
                self._requester.request()
            return
        logger.info("track %s: publisher SSRC changed %s -> %s", self.id, previous, ssrc)
        for sink in self._sinks:
            sink.source_restarted()

    def handle_sender_report(self, ssrc: int, ntp_timestamp: int, rtp_timestamp: int) -> None:
        """Remember the publisher's SR clock and pass it to every sink."""
        self.stats.sender_reports += 1
        self._sender_report = (ntp_timestamp, rtp_timestamp)
        for sink in self._sinks:
            sink.set_sender_report_clock(ntp_timestamp, rtp_timestamp)

    async def end(self) -> None:
        """Mark the track ended, tell the sinks and drop them (publisher leaving)."""
        if self._ended:
            return
        self._ended = True
        self._live = False
        if self._requester is not None:
            await self._requester.close()
        sinks, self._sinks = self._sinks, []
        for sink in sinks:
            sink.source_ended()
        self.on_ended.emit(self)
        for event in (self.on_live, self.on_ended, self.on_audio_level):
            event.clear()
