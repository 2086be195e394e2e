"""Forward one published track to one subscriber's sender, rewriting the RTP header.

Per packet: SSRC and MID become the subscriber sender's, the payload type becomes the
subscriber's for the same codec, sequence numbers are re-based (see `SequenceRewriter`);
timestamp, marker and payload are kept byte for byte. Video starts at a keyframe.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from enum import Enum
from typing import Any

from aiortc import RTCRtpTransceiver

from .aiortc_internals import NegotiatedCodec, SenderPort, hook_sender, negotiated_codecs
from .media import Codec, MediaKind
from .sequence import SequenceRewriter
from .stats import ForwardingStats, SfuCounters
from .track import PublishedTrack

__all__ = ["ForwarderState", "TrackForwarder", "pick_payload_type"]

logger = logging.getLogger(__name__)

# While waiting for a keyframe, ask again this often (the first request may be lost).
_KEYFRAME_RETRY = 1.0


class ForwarderState(Enum):
    """Life cycle of a forwarder."""

    NEGOTIATING = "negotiating"
    WAITING_FOR_KEYFRAME = "waiting-for-keyframe"
    FORWARDING = "forwarding"
    SOURCE_ENDED = "source-ended"
    CLOSED = "closed"


def _h264_key(parameters: dict[str, Any]) -> tuple[str, str]:
    return (
        str(parameters.get("packetization-mode", "0")),
        str(parameters.get("profile-level-id", "42e01f")).lower()[:2],
    )


def pick_payload_type(source: NegotiatedCodec, offered: list[NegotiatedCodec]) -> int | None:
    """Return the subscriber's payload type for the publisher's codec, or None."""
    same_mime = [c for c in offered if c.mime_type.lower() == source.mime_type.lower()]
    if source.mime_type.lower() == Codec.H264.value.lower():
        key = _h264_key(source.parameters)
        for codec in same_mime:
            if _h264_key(codec.parameters) == key:
                return codec.payload_type
    return same_mime[0].payload_type if same_mime else None


class TrackForwarder:
    """Forwards a `PublishedTrack` through one transceiver of a subscriber's connection."""

    def __init__(
        self,
        source: PublishedTrack,
        transceiver: RTCRtpTransceiver,
        counters: SfuCounters,
        on_source_ended: Callable[[TrackForwarder], None],
    ) -> None:
        self.source = source
        self.transceiver = transceiver
        self.stats = ForwardingStats()
        self.state = ForwarderState.NEGOTIATING
        self._counters = counters
        self._on_source_ended = on_source_ended
        self._port: SenderPort | None = None
        self._payload_type = 0
        self._sequence = SequenceRewriter()
        self._sender_report: tuple[int, int] | None = None
        self._last_keyframe_request = 0.0
        self._paused = False
        hook_sender(transceiver.sender, self._handle_sender_started, self._handle_keyframe_request)
        source.attach(self)

    def __repr__(self) -> str:
        return f"TrackForwarder(track={self.source.id!r}, mid={self.mid!r}, {self.state.value})"

    @property
    def mid(self) -> str | None:
        """MID of the subscriber's m-line carrying this track (after negotiation)."""
        mid: str | None = self.transceiver.mid
        return mid

    @property
    def ssrc(self) -> int | None:
        """SSRC the subscriber sees (after the sender started)."""
        return self._port.ssrc if self._port is not None else None

    @property
    def payload_type(self) -> int | None:
        """Payload type the subscriber sees (after the sender started)."""
        return self._payload_type if self._port is not None else None

    @property
    def wants_keyframe(self) -> bool:
        """True while video packets are dropped until a keyframe begins."""
        return self.state is ForwarderState.WAITING_FOR_KEYFRAME

    @property
    def paused(self) -> bool:
        """True while nothing of the track reaches this subscriber (a consultation's hold)."""
        return self._paused

    @paused.setter
    def paused(self, paused: bool) -> None:
        if paused == self._paused:
            return
        self._paused = paused
        if paused:
            return
        if self.state is ForwarderState.FORWARDING:
            self.source_restarted()  # continue without a gap, from a keyframe (asked for here)
        elif self.state is ForwarderState.WAITING_FOR_KEYFRAME and self.source.kind is MediaKind.VIDEO:
            self.request_keyframe()

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe on behalf of this subscriber."""
        self._last_keyframe_request = time.monotonic()
        self.source.request_keyframe()

    def _handle_sender_started(self) -> None:
        if self.state is not ForwarderState.NEGOTIATING:
            return
        payload_type = pick_payload_type(self.source.negotiated, negotiated_codecs(self.transceiver))
        if payload_type is None:
            logger.error("track %s: subscriber negotiated no %s", self.source.id, self.source.codec)
            self.close()
            return
        self._payload_type = payload_type
        self._port = SenderPort(self.transceiver.sender, self.transceiver.mid)
        if self._sender_report is not None:
            self._port.set_sender_report_clock(*self._sender_report)
        self.state = ForwarderState.WAITING_FOR_KEYFRAME
        logger.debug("forwarder %s started (pt=%s ssrc=%s)", self.source.id, payload_type, self.ssrc)
        self.request_keyframe()

    def _handle_keyframe_request(self) -> None:
        # PLI or FIR from the subscriber.
        self.stats.keyframe_requests_received += 1
        if not self._paused and self.state in (ForwarderState.WAITING_FOR_KEYFRAME, ForwarderState.FORWARDING):
            self.request_keyframe()

    def forward(self, packet: Any, keyframe_start: bool) -> Awaitable[None] | None:
        """Send one publisher packet to the subscriber, if and when it should get it.

        Synchronous when the sender's fast path is up (returns None); otherwise returns
        an awaitable that completes the send, which the caller must await before
        forwarding the next packet (to keep the order).
        """
        if self._paused:
            self.stats.packets_dropped_paused += 1
            return None
        state = self.state
        if state is ForwarderState.FORWARDING:
            seq = self._sequence.rewrite(packet.sequence_number)
            if seq is None:
                return None
        elif state is ForwarderState.WAITING_FOR_KEYFRAME:
            if not keyframe_start:
                self.stats.packets_dropped_before_keyframe += 1
                if time.monotonic() - self._last_keyframe_request > _KEYFRAME_RETRY:
                    self.request_keyframe()
                return None
            seq = self._sequence.start(packet.sequence_number)
            self.state = ForwarderState.FORWARDING
            logger.debug("forwarder %s: first packet seq=%s", self.source.id, seq)
        else:
            return None
        port = self._port
        assert port is not None
        if port.has_sent(seq):
            return None
        sent = port.send(packet, self._payload_type, seq)
        if isinstance(sent, int):
            self._count(sent)
            return None
        return self._finish_send(sent)

    async def _finish_send(self, sending: Coroutine[Any, Any, int]) -> None:
        try:
            size = await sending
        except ConnectionError:
            return
        self._count(size)

    def _count(self, size: int) -> None:
        stats = self.stats
        stats.packets_forwarded += 1
        stats.bytes_forwarded += size
        source_stats = self.source.stats
        source_stats.packets_forwarded += 1
        source_stats.bytes_forwarded += size
        counters = self._counters
        counters.packets_forwarded += 1
        counters.bytes_forwarded += size

    def set_sender_report_clock(self, ntp_timestamp: int, rtp_timestamp: int) -> None:
        """Let the subscriber's SRs carry the publisher's NTP/RTP mapping (lip sync)."""
        self._sender_report = (ntp_timestamp, rtp_timestamp)
        if self._port is not None:
            self._port.set_sender_report_clock(ntp_timestamp, rtp_timestamp)

    def source_restarted(self) -> None:
        """The publisher's numbering restarted: resume at a keyframe, without a gap."""
        if self.state is ForwarderState.FORWARDING:
            self._sequence.rebase()
            self.state = ForwarderState.WAITING_FOR_KEYFRAME
            if self.source.kind is MediaKind.VIDEO:
                self.request_keyframe()

    def source_ended(self) -> None:
        """The publisher left: stop and tell the subscriber."""
        if self.state is ForwarderState.CLOSED:
            return
        self.state = ForwarderState.SOURCE_ENDED
        self._on_source_ended(self)

    def close(self) -> None:
        """Stop forwarding (idempotent)."""
        self.state = ForwarderState.CLOSED
        self.source.detach(self)
