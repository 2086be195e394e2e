"""Every use of aiortc/aioice private internals, in one place (pinned to aiortc 1.16.0).

aiortc has no public API to receive RTP packets undecoded or to send ready-made
RTP packets, so the SFU hooks into it here and nowhere else. Each hook patches one
*instance* (never a class or module), so other peer connections in the process,
such as test clients, keep aiortc's normal behaviour. ``tests/sfu/test_aiortc_internals.py``
checks every name used below and fails, naming it, if an upgrade moves one.

Hooks:

* receiver tap: `RTCRtpReceiver.receive` is replaced by a version that starts no
  decoder thread and installs a null jitter buffer; `_handle_rtp_packet` is wrapped to
  hand every packet (RTX unwrapped) to the SFU before aiortc's own bookkeeping
  (receiver reports, NACKs to the publisher); `_handle_rtcp_packet` is wrapped to
  see sender reports. `_send_rtcp_pli` asks the publisher for a keyframe.
* sender port: `RTCRtpSender.send` is wrapped to learn when the sender has started,
  `_send_keyframe` is replaced to route PLI/FIR to the SFU; packets are serialized
  with the sender's header extension map, kept in its NACK history and sent through
  `RTCDtlsTransport._send_rtp` (SRTP) -- or, when the connection is up, protected with
  the DTLS transport's SRTP session and handed straight to the nominated aioice pair's
  datagram transport (what `_send_rtp` → `Connection.sendto` → `StunProtocol.send_data`
  do, without their coroutines). The sender's SR clock and counters are set so
  its own RTCP sender reports carry the publisher's NTP/RTP mapping.
* ICE: the gatherer's aioice `Connection.gather_candidates` is replaced to gather host
  candidates on configured addresses (aioice skips 127.0.0.1).
* DTLS role: to an offer saying `a=setup:actpass`, aiortc answers `active` and, as DTLS
  client, offers only ECDSA cipher suites, which a peer with an RSA certificate (GStreamer's
  webrtcbin) cannot accept ("no shared cipher"). `answer_as_dtls_server` sets the DTLS
  transports' role (`RTCDtlsTransport._set_role`) to server before the answer is created,
  so the answer says `a=setup:passive` and the client picks the cipher suite.
* receive in place: the aioice `Connection.data_received` of each server connection is
  wrapped so that SRTP/SRTCP datagrams are decrypted and handed to the DTLS transport's
  own `_handle_rtp_data`/`_handle_rtcp_data` as they arrive, instead of being queued for
  its receive task (what `RTCDtlsTransport._recv_next` does, minus a queue and a task
  switch per packet). A packet whose handling has to wait is finished by a task and
  the packets behind it wait their turn, so order is kept.
* datagram tap (load clients): the aioice `Connection.data_received` of one transport is
  wrapped so SRTP datagrams can be counted from their clear RTP header before aiortc
  queues, decrypts and parses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pylibsrtp
from aioice.ice import StunProtocol
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc import clock as aiortc_clock
from aiortc.codecs import is_rtx
from aiortc.rtcdtlstransport import State as _DtlsState
from aiortc.rtp import RTP_HEADER_LENGTH, RTP_HISTORY_SIZE, RtcpSrPacket, RtpPacket, unwrap_rtx

__all__ = [
    "AIORTC_VERSION",
    "REQUIRED_INTERNALS",
    "NegotiatedCodec",
    "ReceiveLayout",
    "RtpPacketLike",
    "SenderPort",
    "answer_as_dtls_server",
    "audio_level",
    "configure_host_addresses",
    "hook_sender",
    "negotiated_codecs",
    "receive_in_place",
    "received_in_place",
    "receiver_decoder_idle",
    "send_pli",
    "tap_receiver",
    "tap_srtp_datagrams",
    "udp_sockets",
]

logger = logging.getLogger(__name__)

AIORTC_VERSION = "1.16.0"

# Name-mangled private attributes, spelled once.
_RX_STARTED = "_RTCRtpReceiver__started"
_RX_CODECS = "_RTCRtpReceiver__codecs"
_RX_RTX_SSRC = "_RTCRtpReceiver__rtx_ssrc"
_RX_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_RX_DECODER_THREAD = "_RTCRtpReceiver__decoder_thread"
_RX_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_RX_RTCP_TASK = "_RTCRtpReceiver__rtcp_task"
_TX_STARTED = "_RTCRtpSender__started"
_TX_HISTORY = "_RTCRtpSender__rtp_history"
_TX_EXT_MAP = "_RTCRtpSender__rtp_header_extensions_map"
_TX_NTP = "_RTCRtpSender__ntp_timestamp"
_TX_RTP_TS = "_RTCRtpSender__rtp_timestamp"
_TX_PACKETS = "_RTCRtpSender__packet_count"
_TX_OCTETS = "_RTCRtpSender__octet_count"
_DTLS_TX_BYTES = "_RTCDtlsTransport__tx_bytes"
_DTLS_TX_PACKETS = "_RTCDtlsTransport__tx_packets"
_DTLS_RX_BYTES = "_RTCDtlsTransport__rx_bytes"
_DTLS_RX_PACKETS = "_RTCDtlsTransport__rx_packets"
_IN_PLACE = "_konsylium_receive_in_place"  # marks an aioice Connection already hooked
_IN_PLACE_COUNT = "_konsylium_received_in_place"  # datagrams a DTLS transport handled in place
_DTLS_CONNECTED = _DtlsState.CONNECTED
_RTP_HEADER = struct.Struct("!BBHLL")


# Every private name used in this module, by owner (checked by tests/sfu/test_aiortc_internals.py).
REQUIRED_INTERNALS: dict[str, tuple[str, ...]] = {
    "RTCRtpReceiver": (
        _RX_STARTED,
        _RX_CODECS,
        _RX_RTX_SSRC,
        _RX_JITTER_BUFFER,
        _RX_DECODER_THREAD,
        _RX_DECODER_QUEUE,
        _RX_RTCP_TASK,
        "_enabled",
        "_handle_rtp_packet",
        "_handle_rtcp_packet",
        "_run_rtcp",
        "_send_rtcp_pli",
        "receive",
        "transport",
    ),
    "RTCRtpSender": (
        _TX_STARTED,
        _TX_HISTORY,
        _TX_EXT_MAP,
        _TX_NTP,
        _TX_RTP_TS,
        _TX_PACKETS,
        _TX_OCTETS,
        "_ssrc",
        "_send_keyframe",
        "send",
        "transport",
    ),
    "RTCRtpTransceiver": ("_codecs",),
    "RTCDtlsTransport": (
        _DTLS_TX_BYTES,
        _DTLS_TX_PACKETS,
        _DTLS_RX_BYTES,
        _DTLS_RX_PACKETS,
        "_handle_rtp_data",
        "_handle_rtcp_data",
        "_send_rtp",
        "_register_rtp_receiver",
        "_role",
        "_set_role",
        "_state",
        "_rx_srtp",
        "_tx_srtp",
        "transport",
    ),
    "RTCIceTransport": ("_connection",),
    "RTCIceGatherer": ("_connection",),
    "aioice.Connection": (
        "_local_candidates_start",
        "_local_candidates_end",
        "_local_candidates",
        "_components",
        "_nominated",
        "_protocols",
        "data_received",
        "get_component_candidates",
        "gather_candidates",
    ),
    "RtpPacket": (
        "payload_type",
        "marker",
        "sequence_number",
        "timestamp",
        "ssrc",
        "payload",
        "csrc",
        "padding_size",
        "extensions",
        "serialize",
    ),
    "HeaderExtensions": ("mid", "audio_level"),
    "aioice.CandidatePair": ("protocol", "remote_addr"),
    "aioice.StunProtocol": ("send_data", "transport"),
    "RtcpSrPacket": ("ssrc", "sender_info"),
    "RtcpSenderInfo": ("ntp_timestamp", "rtp_timestamp"),
}


class RtpPacketLike(Protocol):
    """The attributes of aiortc's `RtpPacket` the rest of the SFU reads."""

    payload_type: int
    marker: int
    sequence_number: int
    timestamp: int
    ssrc: int
    payload: bytes


# --- negotiated parameters -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NegotiatedCodec:
    """A codec negotiated on one transceiver, with its RTX payload type if any."""

    mime_type: str
    clock_rate: int
    payload_type: int
    parameters: dict[str, Any] = field(default_factory=dict)
    rtx_payload_type: int | None = None


def negotiated_codecs(transceiver: RTCRtpTransceiver) -> list[NegotiatedCodec]:
    """Return the codecs negotiated on `transceiver`, preferred first, RTX folded in."""
    codecs: list[Any] = list(transceiver._codecs)
    rtx_for: dict[int, int] = {}
    for codec in codecs:
        if is_rtx(codec):
            apt = codec.parameters.get("apt")
            if isinstance(apt, int):
                rtx_for[apt] = int(codec.payloadType)
    return [
        NegotiatedCodec(
            mime_type=str(codec.mimeType),
            clock_rate=int(codec.clockRate),
            payload_type=int(codec.payloadType),
            parameters=dict(codec.parameters),
            rtx_payload_type=rtx_for.get(int(codec.payloadType)),
        )
        for codec in codecs
        if not is_rtx(codec)
    ]


# --- ICE -------------------------------------------------------------------------------


def configure_host_addresses(
    pc: RTCPeerConnection, addresses: Sequence[str], announced: Mapping[str, str] | None = None
) -> None:
    """Make every ICE gatherer of `pc` gather host candidates on `addresses` only.

    Candidates gathered on a key of `announced` are offered with its value (1:1 NAT).
    Call after the transceivers exist and before `setLocalDescription` (which gathers).
    An empty `addresses` keeps aioice's own interface discovery.
    """
    if not addresses:
        return
    gatherers = {t.sender.transport.transport.iceGatherer for t in pc.getTransceivers()}
    if pc.sctp is not None:
        gatherers.add(pc.sctp.transport.transport.iceGatherer)
    chosen = list(addresses)
    for gatherer in gatherers:
        connection: Any = gatherer._connection
        if getattr(connection, "_sfu_host_addresses", None) is not None:
            continue
        connection._sfu_host_addresses = chosen
        connection.gather_candidates = _make_gather(connection, chosen, dict(announced or {}))


def _make_gather(
    connection: Any, addresses: list[str], announced: dict[str, str]
) -> Callable[[], Awaitable[None]]:
    async def gather_candidates() -> None:
        if connection._local_candidates_start:
            return
        connection._local_candidates_start = True
        for component in connection._components:
            candidates = await connection.get_component_candidates(
                component=component, addresses=addresses
            )
            for candidate in candidates:
                candidate.host = announced.get(candidate.host, candidate.host)
            connection._local_candidates += candidates
        connection._local_candidates_end = True

    return gather_candidates


# --- DTLS ------------------------------------------------------------------------------


def answer_as_dtls_server(pc: RTCPeerConnection) -> None:
    """Make `pc` answer `a=setup:passive` (DTLS server) to an `actpass` offer.

    Call after `setRemoteDescription(offer)` and before `createAnswer`. Only transports
    whose role is still undecided ("auto": the offer said actpass) are changed; aiortc
    then writes `passive` in the answer and waits for the client's handshake.
    """
    transports = {id(t.receiver.transport): t.receiver.transport for t in pc.getTransceivers()}
    if pc.sctp is not None:
        transports[id(pc.sctp.transport)] = pc.sctp.transport
    for dtls in transports.values():
        if dtls is not None and dtls._role == "auto":
            dtls._set_role("server")


# --- receiving (publisher side) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReceiveLayout:
    """What a started receiver expects: media SSRC, RTX SSRCs and payload types."""

    media_ssrc: int | None
    rtx_ssrc_to_ssrc: dict[int, int]
    rtx_pt_to_apt: dict[int, int]


class _NullJitterBuffer:
    """Stands in for aiortc's jitter buffer: nothing is reassembled, nothing decoded."""

    def add(self, packet: Any) -> tuple[bool, None]:
        return False, None


OnRtp = Callable[[Any, bool], Awaitable[None]]
OnSenderReport = Callable[[int, int, int], None]


def tap_receiver(
    receiver: RTCRtpReceiver,
    on_rtp: OnRtp,
    on_sender_report: OnSenderReport,
    on_started: Callable[[ReceiveLayout], None],
) -> None:
    """Forward every RTP packet of `receiver` to `on_rtp` and never decode.

    `on_rtp(packet, repaired)` gets original packets; RTX packets are unwrapped first
    (`repaired=True`). `on_sender_report(ssrc, ntp, rtp_timestamp)` gets the publisher's
    SR clock. `on_started(layout)` runs when aiortc starts the receiver (media may flow).
    Must be called before aiortc calls `receive()` (i.e. before the connection is up).
    """
    patched: Any = receiver
    original_rtp = receiver._handle_rtp_packet
    original_rtcp = receiver._handle_rtcp_packet
    rtx_ssrcs: dict[int, int] = {}
    rtx_pts: dict[int, int] = {}

    async def receive(parameters: Any) -> None:
        if getattr(receiver, _RX_STARTED):
            return
        codecs = getattr(receiver, _RX_CODECS)
        rtx_map = getattr(receiver, _RX_RTX_SSRC)
        for codec in parameters.codecs:
            codecs[codec.payloadType] = codec
            apt = codec.parameters.get("apt") if is_rtx(codec) else None
            if isinstance(apt, int):
                rtx_pts[int(codec.payloadType)] = apt
        media_ssrc: int | None = None
        for encoding in parameters.encodings:
            media_ssrc = int(encoding.ssrc)
            if encoding.rtx:
                rtx_map[encoding.rtx.ssrc] = encoding.ssrc
                rtx_ssrcs[int(encoding.rtx.ssrc)] = int(encoding.ssrc)
        setattr(receiver, _RX_JITTER_BUFFER, _NullJitterBuffer())
        receiver.transport._register_rtp_receiver(receiver, parameters)
        setattr(receiver, _RX_RTCP_TASK, asyncio.ensure_future(receiver._run_rtcp()))
        setattr(receiver, _RX_STARTED, True)
        on_started(ReceiveLayout(media_ssrc=media_ssrc, rtx_ssrc_to_ssrc=dict(rtx_ssrcs), rtx_pt_to_apt=dict(rtx_pts)))

    async def handle_rtp_packet(packet: Any, arrival_time_ms: int) -> None:
        if receiver._enabled:
            forwarded = packet
            repaired = False
            apt = rtx_pts.get(packet.payload_type)
            if apt is not None:
                original_ssrc = rtx_ssrcs.get(packet.ssrc)
                forwarded = None
                if original_ssrc is not None and len(packet.payload) >= 2:
                    forwarded = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)
                    repaired = True
            if forwarded is not None:
                try:
                    await on_rtp(forwarded, repaired)
                except Exception:
                    logger.exception("forwarding RTP packet ssrc=%s failed", packet.ssrc)
        await original_rtp(packet, arrival_time_ms)

    async def handle_rtcp_packet(packet: Any) -> None:
        if isinstance(packet, RtcpSrPacket):
            info = packet.sender_info
            try:
                on_sender_report(int(packet.ssrc), int(info.ntp_timestamp), int(info.rtp_timestamp))
            except Exception:
                logger.exception("handling sender report ssrc=%s failed", packet.ssrc)
        await original_rtcp(packet)

    patched.receive = receive
    patched._handle_rtp_packet = handle_rtp_packet
    patched._handle_rtcp_packet = handle_rtcp_packet


def receiver_decoder_idle(receiver: RTCRtpReceiver) -> bool:
    """Return True if `receiver` has no decoder thread and nothing queued for decoding."""
    thread = getattr(receiver, _RX_DECODER_THREAD)
    queue = getattr(receiver, _RX_DECODER_QUEUE)
    return thread is None and queue.empty()


async def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Send an RTCP PLI for `media_ssrc` to the publisher through `receiver`."""
    try:
        await receiver._send_rtcp_pli(media_ssrc)
    except ConnectionError:
        pass


def audio_level(packet: Any) -> int | None:
    """Return the RFC 6464 level of `packet` (0 = loudest .. 127 = silence), or None."""
    level = packet.extensions.audio_level
    if level is None:
        return None
    return int(level[1])


# --- sending (subscriber side) ------------------------------------------------------------


def hook_sender(
    sender: RTCRtpSender,
    on_started: Callable[[], None],
    on_keyframe_request: Callable[[], None],
) -> None:
    """Call `on_started` once `sender` is started, and `on_keyframe_request` on PLI/FIR."""
    original_send = sender.send

    async def send(parameters: Any) -> None:
        await original_send(parameters)
        if getattr(sender, _TX_STARTED):
            on_started()

    patched: Any = sender
    patched.send = send
    patched._send_keyframe = on_keyframe_request


class SenderPort:
    """Send ready-made RTP packets through a started aiortc sender.

    Packets get the sender's SSRC and MID, are kept in its history (so the sender
    answers the subscriber's NACKs, with RTX if negotiated) and are SRTP-protected by
    its DTLS transport.

    Fast path (`send` returns the size): the header is packed from a cached copy of the
    header-extension block aiortc would serialize (MID, and the audio level if any), the
    packet is protected with the DTLS transport's SRTP session and handed to the
    nominated ICE pair's datagram transport synchronously -- exactly what
    `RTCDtlsTransport._send_rtp` → `Connection.send` → `StunProtocol.send_data` do, minus
    four coroutines. Whenever a precondition does not hold (DTLS not connected, no
    nominated pair, the pair's transport closing, a protocol overriding `send_data`, a
    header aiortc would classify as RTCP) `send` returns a coroutine instead that sends
    through aiortc's own path; await it (it raises ConnectionError if not connected).
    """

    __slots__ = (
        "_dtls",
        "_ext_blocks",
        "_ext_map",
        "_history",
        "_ice",
        "_mid",
        "_pair",
        "_pair_addr",
        "_pair_transport",
        "_sender",
        "fast_sends",
        "slow_sends",
        "ssrc",
    )

    def __init__(self, sender: RTCRtpSender, mid: str | None) -> None:
        self._sender = sender
        self._mid = mid
        self._history: dict[int, Any] = getattr(sender, _TX_HISTORY)
        self._ext_map: Any = getattr(sender, _TX_EXT_MAP)
        self._dtls: Any = sender.transport
        self._ice: Any = self._dtls.transport._connection
        self._ext_blocks: dict[Any, bytes] = {}
        self._pair: Any = None
        self._pair_addr: tuple[str, int] | None = None
        self._pair_transport: Any = None
        self.ssrc: int = int(sender._ssrc)
        self.fast_sends = 0
        self.slow_sends = 0

    def has_sent(self, sequence_number: int) -> bool:
        """Return True if the packet numbered `sequence_number` is in the history."""
        packet = self._history.get(sequence_number % RTP_HISTORY_SIZE)
        return packet is not None and packet.sequence_number == sequence_number

    def _ext_block(self, audio_level: Any) -> bytes:
        """The extension part of the header aiortc serializes (profile, length, value)."""
        block = self._ext_blocks.get(audio_level)
        if block is None:
            probe = RtpPacket()
            probe.extensions.mid = self._mid
            probe.extensions.audio_level = audio_level
            block = probe.serialize(self._ext_map)[RTP_HEADER_LENGTH:]
            if len(self._ext_blocks) < 512:
                self._ext_blocks[audio_level] = block
        return block

    def send(self, source: Any, payload_type: int, sequence_number: int) -> int | Coroutine[Any, Any, int]:
        """Send `source`'s payload with the given payload type and number.

        Returns the bytes sent, or (fast path unavailable) a coroutine to await that
        sends through aiortc and returns them, raising ConnectionError if the transport
        is not connected. Timestamp, marker, CSRCs, padding and the audio level are kept.
        """
        payload = source.payload
        marker = source.marker
        timestamp = source.timestamp
        csrc = source.csrc
        padding_size = source.padding_size
        audio_level = source.extensions.audio_level
        packet = RtpPacket(payload_type, marker, sequence_number, timestamp, self.ssrc, payload)
        packet.csrc = csrc
        packet.padding_size = padding_size
        extensions = packet.extensions
        extensions.mid = self._mid
        extensions.audio_level = audio_level
        if csrc or padding_size:
            data: bytes = packet.serialize(self._ext_map)
        else:
            block = self._ext_block(audio_level)
            data = (
                _RTP_HEADER.pack(
                    0x90 if block else 0x80,
                    (marker << 7) | payload_type,
                    sequence_number,
                    timestamp,
                    self.ssrc,
                )
                + block
                + payload
            )
        self._history[sequence_number % RTP_HISTORY_SIZE] = packet
        dtls = self._dtls
        pair = self._ice._nominated.get(1)
        if (
            pair is None
            or dtls._state is not _DTLS_CONNECTED
            or 192 <= data[1] <= 208  # aiortc would protect it as RTCP (RFC 5761 clash)
        ):
            return self._send_slow(data, len(payload))
        if pair is not self._pair:
            protocol = pair.protocol
            if type(protocol).send_data is not StunProtocol.send_data:
                return self._send_slow(data, len(payload))
            self._pair = pair
            self._pair_addr = pair.remote_addr
            self._pair_transport = protocol.transport
        transport = self._pair_transport
        if transport.is_closing():
            return self._send_slow(data, len(payload))
        protected = dtls._tx_srtp.protect(data)
        transport.sendto(protected, self._pair_addr)
        setattr(dtls, _DTLS_TX_BYTES, getattr(dtls, _DTLS_TX_BYTES) + len(protected))
        setattr(dtls, _DTLS_TX_PACKETS, getattr(dtls, _DTLS_TX_PACKETS) + 1)
        self._count(len(payload))
        self.fast_sends += 1
        return len(data)

    async def _send_slow(self, data: bytes, payload_size: int) -> int:
        await self._dtls._send_rtp(data)
        self._count(payload_size)
        self.slow_sends += 1
        return len(data)

    def _count(self, payload_size: int) -> None:
        sender = self._sender
        setattr(sender, _TX_PACKETS, getattr(sender, _TX_PACKETS) + 1)
        setattr(sender, _TX_OCTETS, getattr(sender, _TX_OCTETS) + payload_size)

    def set_sender_report_clock(self, ntp_timestamp: int, rtp_timestamp: int) -> None:
        """Make the sender's next RTCP SRs carry this NTP/RTP timestamp pair."""
        setattr(self._sender, _TX_NTP, ntp_timestamp)
        setattr(self._sender, _TX_RTP_TS, rtp_timestamp)


def udp_sockets(pc: RTCPeerConnection) -> list[Any]:
    """The UDP sockets `pc`'s ICE connections gathered on (after `setLocalDescription`).

    Load clients attach kernel filters to them (loadtests.kernel_sink)."""
    sockets: list[Any] = []
    seen: set[int] = set()
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport
        connection: Any = dtls.transport._connection if dtls is not None else None
        if connection is None or id(connection) in seen:
            continue
        seen.add(id(connection))
        for protocol in connection._protocols:
            sock = protocol.transport.get_extra_info("socket") if protocol.transport is not None else None
            if sock is not None:
                sockets.append(sock)
    return sockets


def tap_srtp_datagrams(dtls: Any, handler: Callable[[bytes], bool]) -> Callable[[bytes], bytes]:
    """Offer every SRTP datagram (RTP, not RTCP) arriving for `dtls` to `handler` first.

    `handler(data)` gets the datagram still encrypted (the RTP header is in the clear)
    and returns True when it has consumed it; aiortc then never sees it (no decryption,
    no receiver statistics, no NACKs). False hands it to aiortc as usual. Returns an
    `unprotect(data) -> bytes` for the few datagrams the caller wants to read whole.
    Meant for load clients, which must stay much cheaper than the server they measure.
    Works on any event loop: the hook sits after aioice's STUN check, not in the socket
    protocol (uvloop caches a protocol's `datagram_received`).
    """
    connection: Any = dtls.transport._connection
    original: Callable[[bytes, int], None] = connection.data_received

    def data_received(data: bytes, component: int) -> None:
        if len(data) >= 12 and 127 < data[0] < 192 and not 192 <= data[1] <= 208 and handler(data):
            return
        original(data, component)

    def unprotect(data: bytes) -> bytes:
        return bytes(dtls._rx_srtp.unprotect(data))

    connection.data_received = data_received
    return unprotect


def receive_in_place(pc: RTCPeerConnection) -> None:
    """Handle `pc`'s SRTP and SRTCP datagrams as they arrive, without aiortc's queue and
    task switch per packet (idempotent; call once the transceivers exist)."""
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport
        if dtls is not None:
            _receive_in_place(dtls)


def received_in_place(pc: RTCPeerConnection) -> int:
    """How many SRTP/SRTCP datagrams `pc` handled in place so far (0 if not hooked)."""
    transports = {id(t.receiver.transport): t.receiver.transport for t in pc.getTransceivers()}
    return sum(int(getattr(dtls, _IN_PLACE_COUNT, 0)) for dtls in transports.values())


def _receive_in_place(dtls: Any) -> None:
    connection: Any = dtls.transport._connection
    if getattr(connection, _IN_PLACE, False):
        return
    setattr(connection, _IN_PLACE, True)
    original: Callable[[bytes, int], None] = connection.data_received
    backlog: deque[bytes] = deque()
    waiting = False  # a packet's handling suspended; a task finishes it, then the backlog
    finishing: set[asyncio.Task[None]] = set()  # referenced until done

    setattr(dtls, _IN_PLACE_COUNT, 0)

    async def handle(data: bytes) -> None:
        setattr(dtls, _IN_PLACE_COUNT, getattr(dtls, _IN_PLACE_COUNT) + 1)
        setattr(dtls, _DTLS_RX_BYTES, getattr(dtls, _DTLS_RX_BYTES) + len(data))
        setattr(dtls, _DTLS_RX_PACKETS, getattr(dtls, _DTLS_RX_PACKETS) + 1)
        arrival_time_ms = aiortc_clock.current_ms()
        try:
            if 192 <= data[1] <= 208:  # aiortc's is_rtcp
                await dtls._handle_rtcp_data(dtls._rx_srtp.unprotect_rtcp(data))
            else:
                await dtls._handle_rtp_data(dtls._rx_srtp.unprotect(data), arrival_time_ms=arrival_time_ms)
        except pylibsrtp.Error:
            pass  # not ours or replayed: aiortc drops it too

    def run(data: bytes) -> None:
        nonlocal waiting
        coroutine = handle(data)
        try:
            suspended_on = coroutine.send(None)
        except StopIteration:
            return
        except Exception:
            logger.exception("handling a received packet failed")
            return
        waiting = True
        task = asyncio.ensure_future(finish(coroutine, suspended_on))
        finishing.add(task)
        task.add_done_callback(finishing.discard)

    async def finish(coroutine: Coroutine[Any, Any, None], suspended_on: Any) -> None:
        nonlocal waiting
        try:
            while True:
                if suspended_on is None:  # a bare yield (sleep(0)): just let the loop run once
                    await asyncio.sleep(0)
                else:  # a future: wait for it as asyncio's Task would (which resets this flag)
                    suspended_on._asyncio_future_blocking = False
                    with contextlib.suppress(Exception):  # the coroutine sees it where it awaited
                        await suspended_on
                try:
                    suspended_on = coroutine.send(None)
                except StopIteration:
                    break
        except Exception:
            logger.exception("handling a received packet failed")
        finally:
            coroutine.close()
            waiting = False
        while backlog and not waiting:
            run(backlog.popleft())

    def data_received(data: bytes, component: int) -> None:
        if (
            len(data) < 12
            or not 127 < data[0] < 192
            or dtls._rx_srtp is None
            or dtls._state is not _DTLS_CONNECTED
        ):
            original(data, component)  # STUN answers are handled before; DTLS and the rest go to aiortc
        elif waiting:
            backlog.append(data)
        else:
            run(data)

    connection.data_received = data_received
