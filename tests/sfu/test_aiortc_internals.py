"""Guard the aiortc/aioice internals the SFU relies on (sfu/aiortc_internals.py).

If an aiortc upgrade moves or renames any of them, these tests fail and name it.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from typing import Any

import aiortc
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc import rtp as aiortc_rtp
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender

from sfu import aiortc_internals as internals
from sfu.aiortc_internals import REQUIRED_INTERNALS

HINT = "aiortc internals changed: update sfu/aiortc_internals.py (written for aiortc {})"


def require(owner: str, obj: Any, name: str) -> None:
    assert hasattr(obj, name), f"{owner}.{name} is missing in aiortc {aiortc.__version__}; " + HINT.format(
        internals.AIORTC_VERSION
    )


class _NoConnection:
    """The aioice Connection a bare StunProtocol reports to (nothing to do)."""

    def protocol_lost(self, protocol: Any) -> None:
        pass


@pytest.fixture
async def instances() -> Any:
    from aioice.candidate import Candidate
    from aioice.ice import CandidatePair, StunProtocol

    loop = asyncio.get_running_loop()
    udp, protocol = await loop.create_datagram_endpoint(
        lambda: StunProtocol(_NoConnection()), local_addr=("127.0.0.1", 0)
    )
    remote = Candidate("1", 1, "udp", 1, "127.0.0.1", 9, "host")
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    transceiver = pc.addTransceiver("video")
    sr = aiortc_rtp.RtcpSrPacket(
        ssrc=1, sender_info=aiortc_rtp.RtcpSenderInfo(ntp_timestamp=1, rtp_timestamp=2, packet_count=0, octet_count=0)
    )
    objects = {
        "RTCRtpReceiver": transceiver.receiver,
        "RTCRtpSender": transceiver.sender,
        "RTCRtpTransceiver": transceiver,
        "RTCDtlsTransport": transceiver.sender.transport,
        "RTCIceTransport": transceiver.sender.transport.transport,
        "aioice.CandidatePair": CandidatePair(protocol, remote),
        "aioice.StunProtocol": protocol,
        "RTCIceGatherer": transceiver.sender.transport.transport.iceGatherer,
        "aioice.Connection": transceiver.sender.transport.transport.iceGatherer._connection,
        "RtpPacket": aiortc_rtp.RtpPacket(),
        "HeaderExtensions": aiortc_rtp.RtpPacket().extensions,
        "RtcpSrPacket": sr,
        "RtcpSenderInfo": sr.sender_info,
    }
    yield objects
    udp.close()
    await pc.close()


async def test_every_required_internal_exists(instances: dict[str, Any]) -> None:
    assert set(REQUIRED_INTERNALS) == set(instances)
    for owner, names in REQUIRED_INTERNALS.items():
        for name in names:
            require(owner, instances[owner], name)


def _params(func: Any) -> list[str]:
    return [p for p in inspect.signature(func).parameters if p != "self"]


@pytest.mark.parametrize(
    ("owner", "func", "expected"),
    [
        (
            "RTCRtpReceiver._handle_rtp_packet",
            RTCRtpReceiver._handle_rtp_packet,
            ["packet", "arrival_time_ms"],
        ),
        ("RTCRtpReceiver._handle_rtcp_packet", RTCRtpReceiver._handle_rtcp_packet, ["packet"]),
        ("RTCRtpReceiver._send_rtcp_pli", RTCRtpReceiver._send_rtcp_pli, ["media_ssrc"]),
        ("RTCRtpReceiver.receive", RTCRtpReceiver.receive, ["parameters"]),
        ("RTCRtpSender.send", RTCRtpSender.send, ["parameters"]),
        ("RTCRtpSender._send_keyframe", RTCRtpSender._send_keyframe, []),
        ("RTCDtlsTransport._send_rtp", aiortc.RTCDtlsTransport._send_rtp, ["data"]),
        (
            "RTCDtlsTransport._register_rtp_receiver",
            aiortc.RTCDtlsTransport._register_rtp_receiver,
            ["receiver", "parameters"],
        ),
        ("unwrap_rtx", aiortc_rtp.unwrap_rtx, ["rtx", "payload_type", "ssrc"]),
        (
            "RtpPacket.__init__",
            aiortc_rtp.RtpPacket.__init__,
            ["payload_type", "marker", "sequence_number", "timestamp", "ssrc", "payload"],
        ),
    ],
)
def test_signatures(owner: str, func: Any, expected: list[str]) -> None:
    params = _params(func)
    assert params == expected, f"{owner} signature changed to {params}; " + HINT.format(internals.AIORTC_VERSION)


def test_aioice_get_component_candidates_signature() -> None:
    from aioice import Connection

    params = _params(Connection.get_component_candidates)
    assert params[:2] == ["component", "addresses"], (
        f"aioice Connection.get_component_candidates signature changed to {params}"
    )


def _mangled(source: str, cls: str) -> set[str]:
    return {f"_{cls}{m}" for m in re.findall(r"self\.(__\w+)", source)}


def test_replaced_receive_covers_everything_aiortc_receive_does() -> None:
    # Our no-decoder `receive` re-implements aiortc's; if aiortc's grows new state, fail.
    used = _mangled(inspect.getsource(RTCRtpReceiver.receive), "RTCRtpReceiver")
    handled = {
        "_RTCRtpReceiver__started",
        "_RTCRtpReceiver__codecs",
        "_RTCRtpReceiver__rtx_ssrc",
        "_RTCRtpReceiver__decoder_thread",
        "_RTCRtpReceiver__decoder_queue",
        "_RTCRtpReceiver__decoder_error",
        "_RTCRtpReceiver__transport",
        "_RTCRtpReceiver__rtcp_task",
        "_RTCRtpReceiver__kind",
    }
    assert used <= handled, f"RTCRtpReceiver.receive uses new state {used - handled}; " + HINT.format(
        internals.AIORTC_VERSION
    )
    source = inspect.getsource(RTCRtpReceiver.receive)
    for step in ("_register_rtp_receiver", "_run_rtcp", "decoder_worker"):
        assert step in source, f"RTCRtpReceiver.receive no longer does {step}"


def _aioice_connection() -> Any:
    from aioice import Connection

    return Connection


def _aioice_stun_protocol() -> Any:
    from aioice.ice import StunProtocol

    return StunProtocol


def test_is_rtcp_range_matches_fast_path() -> None:
    # SenderPort hands headers whose second byte is in 192..208 to aiortc (it would SRTCP them).
    from aiortc import rtcdtlstransport

    assert [b for b in range(256) if rtcdtlstransport.is_rtcp(bytes([0x80, b]))] == list(range(192, 209))


def test_dtls_connected_state_name() -> None:
    assert internals._DTLS_CONNECTED.name == "CONNECTED"


@pytest.mark.parametrize(
    ("func", "needle"),
    [
        (RTCRtpReceiver._handle_rtp_packet, "self.__jitter_buffer.add(packet)"),
        (RTCRtpReceiver._handle_rtp_packet, "self.__decoder_thread"),
        (RTCRtpSender._handle_rtcp_packet, "self._send_keyframe()"),
        (RTCRtpSender._handle_rtcp_packet, "self._retransmit(seq)"),
        (RTCRtpSender._retransmit, "self.__rtp_history.get(sequence_number % RTP_HISTORY_SIZE)"),
        (RTCRtpSender._retransmit, "self.__rtp_header_extensions_map"),
        (RTCRtpSender._run_rtcp, "ntp_timestamp=self.__ntp_timestamp"),
        (RTCRtpSender._run_rtcp, "rtp_timestamp=self.__rtp_timestamp"),
        (RTCRtpSender.stop, "self.__rtp_task.cancel()"),
        # SenderPort's fast path does what these do, synchronously:
        (aiortc.RTCDtlsTransport._send_rtp, "if self._state != State.CONNECTED:"),
        (aiortc.RTCDtlsTransport._send_rtp, "if is_rtcp(data):"),
        (aiortc.RTCDtlsTransport._send_rtp, "data = self._tx_srtp.protect(data)"),
        (aiortc.RTCDtlsTransport._send_rtp, "await self.transport._send(data)"),
        (aiortc.RTCDtlsTransport._send_rtp, "self.__tx_bytes += len(data)"),
        (aiortc.RTCDtlsTransport._send_rtp, "self.__tx_packets += 1"),
        (aiortc.RTCIceTransport.__init__, "self._send = self._connection.send"),
        (_aioice_connection().send, "await self.sendto(data, 1)"),
        (_aioice_connection().sendto, "active_pair = self._nominated.get(component)"),
        (_aioice_connection().sendto, "await active_pair.protocol.send_data(data, active_pair.remote_addr)"),
        (_aioice_stun_protocol().send_data, "self.transport.sendto(data, addr)"),
        # tap_srtp_datagrams sits where aioice hands a non-STUN datagram to the connection:
        (
            _aioice_stun_protocol().datagram_received,
            "self.receiver.data_received(data, self.local_candidate.component)",
        ),
        (_aioice_connection().data_received, "self._queue.put_nowait((data, component))"),
        (aiortc.RTCDtlsTransport._recv_next, "data = self._rx_srtp.unprotect(data)"),
        # receive_in_place does what _recv_next does with an SRTP/SRTCP datagram, in place:
        (aiortc.RTCDtlsTransport._recv_next, "data = await self.transport._recv()"),
        (aiortc.RTCDtlsTransport._recv_next, "self.__rx_bytes += len(data)"),
        (aiortc.RTCDtlsTransport._recv_next, "self.__rx_packets += 1"),
        (aiortc.RTCDtlsTransport._recv_next, "elif first_byte > 127 and first_byte < 192 and self._rx_srtp:"),
        (aiortc.RTCDtlsTransport._recv_next, "arrival_time_ms = clock.current_ms()"),
        (aiortc.RTCDtlsTransport._recv_next, "data = self._rx_srtp.unprotect_rtcp(data)"),
        (aiortc.RTCDtlsTransport._recv_next, "await self._handle_rtcp_data(data)"),
        (aiortc.RTCDtlsTransport._recv_next, "await self._handle_rtp_data(data, arrival_time_ms=arrival_time_ms)"),
        (aiortc.RTCDtlsTransport._recv_next, "except pylibsrtp.Error as exc:"),
        (aiortc.RTCIceTransport.__init__, "self._recv = self._connection.recv"),
        (_aioice_connection().recvfrom, "result = await self._queue.get()"),
        (aiortc_rtp.RtpPacket.serialize, "extensions_map.set(self.extensions)"),
        (aiortc_rtp.RtpPacket.serialize, "data += self.payload"),
        # answer_as_dtls_server: an actpass offer leaves the role "auto", which createAnswer
        # turns into "client" unless the transport's role was set; start() honours it.
        (aiortc.RTCPeerConnection.createAnswer, 'if dtlsTransport._role == "auto":'),
        (aiortc.RTCPeerConnection.createAnswer, "media.dtls.role = dtlsTransport._role"),
        (aiortc.RTCDtlsTransport.start, 'if self._role == "server":'),
        (aiortc.RTCDtlsTransport._set_role, "self._role = role"),
    ],
)
def test_behaviour_the_hooks_rely_on(func: Any, needle: str) -> None:
    assert needle in inspect.getsource(func), f"{func.__qualname__} no longer contains `{needle}`; " + HINT.format(
        internals.AIORTC_VERSION
    )


def test_rtp_history_size_is_power_of_two_window() -> None:
    assert aiortc_rtp.RTP_HISTORY_SIZE == 128, "RTP_HISTORY_SIZE changed"


async def test_configure_host_addresses_gathers_on_loopback_only() -> None:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.addTransceiver("audio")
        internals.configure_host_addresses(pc, ["127.0.0.1"])
        await pc.setLocalDescription(await pc.createOffer())
        hosts = re.findall(r"a=candidate:\S+ \d+ udp \d+ (\S+) \d+ typ host", pc.localDescription.sdp)
        assert hosts == ["127.0.0.1"], f"candidates gathered on {hosts}"
    finally:
        await pc.close()


async def test_negotiated_codecs_fold_rtx(instances: dict[str, Any]) -> None:
    transceiver = instances["RTCRtpTransceiver"]
    transceiver._codecs = [c for c in aiortc.codecs.CODECS["video"][:2]]
    (vp8,) = internals.negotiated_codecs(transceiver)
    assert vp8.mime_type == "video/VP8" and vp8.payload_type == 97 and vp8.rtx_payload_type == 98


async def test_answer_as_dtls_server_answers_passive_to_actpass() -> None:
    offerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    answerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        offerer.addTransceiver("audio")
        internals.configure_host_addresses(offerer, ["127.0.0.1"])
        await offerer.setLocalDescription(await offerer.createOffer())
        assert "a=setup:actpass" in offerer.localDescription.sdp
        await answerer.setRemoteDescription(offerer.localDescription)
        internals.answer_as_dtls_server(answerer)
        internals.configure_host_addresses(answerer, ["127.0.0.1"])
        await answerer.setLocalDescription(await answerer.createAnswer())
        assert re.findall(r"a=setup:(\w+)", answerer.localDescription.sdp) == ["passive"]
        assert {t.receiver.transport._role for t in answerer.getTransceivers()} == {"server"}
    finally:
        await offerer.close()
        await answerer.close()
