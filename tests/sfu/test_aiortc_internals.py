"""Guard the aiortc/aioice internals the SFU relies on (sfu/aiortc_internals.py).

If an aiortc upgrade moves or renames any of them, these tests fail and name it.
"""

from __future__ import annotations

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


@pytest.fixture
async def instances() -> Any:
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
        "RTCIceGatherer": transceiver.sender.transport.transport.iceGatherer,
        "aioice.Connection": transceiver.sender.transport.transport.iceGatherer._connection,
        "RtpPacket": aiortc_rtp.RtpPacket(),
        "HeaderExtensions": aiortc_rtp.RtpPacket().extensions,
        "RtcpSrPacket": sr,
        "RtcpSenderInfo": sr.sender_info,
    }
    yield objects
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
