"""SenderPort's fast send path: same bytes as aiortc's path, and the fallbacks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aioice.candidate import Candidate
from aioice.ice import CandidatePair, StunProtocol
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import RtpPacket
from sfu_peers import video_to_one_subscriber, wait_for

from sfu import Sfu
from sfu import aiortc_internals as internals
from sfu.aiortc_internals import SenderPort


class RecordingSrtp:
    """Stands in for the SRTP session: 'protects' by prefixing, and records the clear text."""

    def __init__(self) -> None:
        self.clear: list[bytes] = []

    def protect(self, data: bytes) -> bytes:
        self.clear.append(data)
        return b"P" + data

    def protect_rtcp(self, data: bytes) -> bytes:
        self.clear.append(data)
        return b"C" + data


class Sink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.datagrams: list[bytes] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.datagrams.append(data)


class _NoConnection:
    """The aioice Connection a bare StunProtocol reports to (nothing to do)."""

    def protocol_lost(self, protocol: Any) -> None:
        pass


@pytest.fixture
async def rig() -> AsyncIterator[Any]:
    """A sender whose DTLS transport looks connected over a real loopback socket pair."""
    loop = asyncio.get_running_loop()
    sink_transport, sink = await loop.create_datagram_endpoint(Sink, local_addr=("127.0.0.1", 0))
    udp, protocol = await loop.create_datagram_endpoint(
        lambda: StunProtocol(_NoConnection()), local_addr=("127.0.0.1", 0)
    )
    port_number = sink_transport.get_extra_info("sockname")[1]
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    sender = pc.addTransceiver("audio").sender
    ext_map = getattr(sender, internals._TX_EXT_MAP)
    ext_map.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=4, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
                RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
            ]
        )
    )
    dtls: Any = sender.transport
    dtls._state = internals._DTLS_CONNECTED
    srtp = RecordingSrtp()
    dtls._tx_srtp = srtp
    connection = dtls.transport._connection
    pair = CandidatePair(protocol, Candidate("1", 1, "udp", 1, "127.0.0.1", port_number, "host"))
    connection._nominated[1] = pair
    port = SenderPort(sender, "3")
    yield port, sender, dtls, connection, pair, srtp, sink, ext_map
    connection._nominated.clear()
    dtls._tx_srtp = None
    dtls._state = internals._DtlsState.NEW
    udp.close()
    sink_transport.close()
    await pc.close()


def _source(seq: int, *, marker: int = 0, audio_level: Any = None, csrc: Any = (), padding: int = 0) -> RtpPacket:
    packet = RtpPacket(
        payload_type=111, marker=marker, sequence_number=seq, timestamp=1000 + seq, ssrc=5, payload=b"x" * (seq % 7 + 1)
    )
    packet.extensions.audio_level = audio_level
    packet.extensions.mid = "publisher-mid"
    packet.csrc = list(csrc)
    packet.padding_size = padding
    return packet


async def test_fast_path_sends_what_aiortc_would(rig: Any) -> None:
    port, sender, dtls, _connection, _pair, srtp, sink, ext_map = rig
    cases = [
        _source(1),
        _source(2, marker=1),
        _source(3, audio_level=(True, 37)),
        _source(4, audio_level=(False, 127), marker=1),
        _source(5, audio_level=(True, 37)),
        _source(6, csrc=[7, 8]),
    ]
    for i, source in enumerate(cases):
        sent = port.send(source, 100, 500 + i)
        assert sent == len(srtp.clear[-1]), "fast path not taken"
        history = getattr(sender, internals._TX_HISTORY)[(500 + i) % 128]
        assert history.sequence_number == 500 + i and history.payload == source.payload
        assert history.extensions.mid == "3" and history.extensions.audio_level == source.extensions.audio_level
        assert srtp.clear[-1] == history.serialize(ext_map), f"case {i}: bytes differ from aiortc's serialize"
        assert port.has_sent(500 + i)
    await wait_for(lambda: len(sink.datagrams) == len(cases), 2, "datagrams on the wire")
    assert sink.datagrams == [b"P" + d for d in srtp.clear]
    assert port.fast_sends == len(cases) and port.slow_sends == 0
    stats = getattr(dtls, internals._DTLS_TX_PACKETS), getattr(dtls, internals._DTLS_TX_BYTES)
    assert stats == (len(cases), sum(len(d) + 1 for d in srtp.clear))
    assert getattr(sender, internals._TX_PACKETS) == len(cases)
    assert getattr(sender, internals._TX_OCTETS) == sum(len(c.payload) for c in cases)


async def test_padded_packet_keeps_padding(rig: Any) -> None:
    port, _sender, _dtls, _connection, _pair, srtp, _sink, _ext_map = rig
    assert isinstance(port.send(_source(1, padding=4), 100, 9), int)
    data = srtp.clear[-1]
    assert data[0] & 0x20 and data[-1] == 4


async def test_falls_back_when_preconditions_fail(rig: Any) -> None:
    port, _sender, dtls, connection, pair, _srtp, _sink, _ext_map = rig
    # A header aiortc would take for RTCP (marker + PT 72): aiortc's own path decides.
    pending = port.send(_source(1, marker=1), 72, 10)
    assert not isinstance(pending, int)
    await pending
    assert port.slow_sends == 1 and port.has_sent(10)
    # No nominated pair: aiortc's path raises ConnectionError; the packet stays in history.
    connection._nominated.clear()
    pending = port.send(_source(2), 100, 11)
    assert not isinstance(pending, int)
    with pytest.raises(ConnectionError):
        await pending
    assert port.has_sent(11)
    # Pair back, DTLS not connected.
    connection._nominated[1] = pair
    dtls._state = internals._DtlsState.CLOSED
    pending = port.send(_source(3), 100, 12)
    assert not isinstance(pending, int)
    with pytest.raises(ConnectionError):
        await pending
    dtls._state = internals._DTLS_CONNECTED
    # Transport closing.
    pair.protocol.transport.close()
    pending = port.send(_source(4), 100, 13)
    assert not isinstance(pending, int)
    pending.close()
    assert port.fast_sends == 0


async def test_forwarding_uses_the_fast_path(sfu: Sfu, peers: Any) -> None:
    _, subscriber, video = await video_to_one_subscriber(sfu, peers)
    port = subscriber.forwarder(video)._port
    assert port is not None and port.fast_sends >= 5, (port.fast_sends, port.slow_sends)
