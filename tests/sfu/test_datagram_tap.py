"""tap_srtp_datagrams: load clients count SRTP datagrams from the clear header, aiortc never sees them."""

from __future__ import annotations

import itertools
import struct
from typing import Any

from aiortc import RTCPeerConnection
from aiortc.rtp import RtpPacket
from sfu_peers import MovingBarTrack, client_pc, wait_for

from sfu.aiortc_internals import configure_host_addresses, tap_srtp_datagrams

LOOPBACK = ("127.0.0.1",)


async def _connect(sender: RTCPeerConnection, receiver: RTCPeerConnection) -> None:
    for pc in (sender, receiver):
        configure_host_addresses(pc, LOOPBACK)
    await sender.setLocalDescription(await sender.createOffer())
    await receiver.setRemoteDescription(sender.localDescription)
    await receiver.setLocalDescription(await receiver.createAnswer())
    await sender.setRemoteDescription(receiver.localDescription)


async def _received_rtp_packets(receiver: RTCPeerConnection) -> int:
    stats = await receiver.getTransceivers()[0].receiver.getStats()
    return sum(int(getattr(s, "packetsReceived", 0)) for s in stats.values() if s.type == "inbound-rtp")


async def test_consumed_datagrams_are_counted_from_the_header_and_never_reach_aiortc() -> None:
    sender, receiver = client_pc(), client_pc()
    seen: list[tuple[int, int]] = []
    first: list[bytes] = []

    def count(data: bytes) -> bool:
        seen.append(struct.unpack_from("!HxxxxL", data, 2))  # (sequence number, ssrc)
        if not first:
            first.append(data)
        return True

    try:
        sender.addTransceiver(MovingBarTrack(), direction="sendonly")
        await _connect(sender, receiver)
        unprotect = tap_srtp_datagrams(receiver.getTransceivers()[0].receiver.transport, count)
        await wait_for(lambda: len(seen) >= 30, 20, "30 tapped RTP datagrams")
        sequence = [s for s, _ in seen]
        assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(sequence)), sequence
        assert len({ssrc for _, ssrc in seen}) == 1
        assert await _received_rtp_packets(receiver) == 0  # consumed: aiortc saw none of them
        clear = RtpPacket.parse(unprotect(first[0]))
        assert (clear.sequence_number, clear.ssrc) == seen[0]
        assert clear.payload and clear.payload != first[0][12:]
    finally:
        await sender.close()
        await receiver.close()


async def test_declined_datagrams_go_to_aiortc_as_usual() -> None:
    sender, receiver = client_pc(), client_pc()
    offered: list[int] = []

    def decline(data: bytes) -> bool:
        offered.append(len(data))
        return False

    try:
        sender.addTransceiver(MovingBarTrack(), direction="sendonly")
        await _connect(sender, receiver)
        tap_srtp_datagrams(receiver.getTransceivers()[0].receiver.transport, decline)
        track: Any = receiver.getTransceivers()[0].receiver.track
        frame = await track.recv()  # decoded: the packets reached aiortc
        assert frame.width > 0 and len(offered) > 0
        assert await _received_rtp_packets(receiver) > 0
    finally:
        await sender.close()
        await receiver.close()
