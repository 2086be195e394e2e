"""receive_in_place: received SRTP is handled as it arrives, in order, even when a handler waits."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from sfu_peers import MovingBarTrack, client_pc, video_to_one_subscriber, wait_for

from sfu import Sfu
from sfu.aiortc_internals import configure_host_addresses, receive_in_place, received_in_place

LOOPBACK = ("127.0.0.1",)


async def test_the_sfu_receives_in_place_on_both_legs(sfu: Sfu, peers: Any) -> None:
    publisher, subscriber, _ = await video_to_one_subscriber(sfu, peers, frames=10)
    assert received_in_place(publisher._pc) >= 10  # the publisher's media
    await wait_for(lambda: received_in_place(subscriber._pc) >= 1, 10, "a receiver report in place")


async def test_order_is_kept_when_handling_a_packet_waits(caplog: pytest.LogCaptureFixture) -> None:
    sender, receiver = client_pc(), client_pc()
    handled: list[tuple[int, int]] = []  # (ssrc, sequence number)
    try:
        sender.addTransceiver(MovingBarTrack(), direction="sendonly")
        for pc in (sender, receiver):
            configure_host_addresses(pc, LOOPBACK)
        await sender.setLocalDescription(await sender.createOffer())
        await receiver.setRemoteDescription(sender.localDescription)
        rtp_receiver: Any = receiver.getTransceivers()[0].receiver
        original = rtp_receiver._handle_rtp_packet

        async def slow_every_third(packet: Any, arrival_time_ms: int) -> None:
            if packet.sequence_number % 3 == 0:
                await asyncio.sleep(0.005)  # suspends: later packets must wait their turn
            handled.append((packet.ssrc, packet.sequence_number))
            await original(packet, arrival_time_ms)

        rtp_receiver._handle_rtp_packet = slow_every_third
        receive_in_place(receiver)
        receive_in_place(receiver)  # idempotent
        await receiver.setLocalDescription(await receiver.createAnswer())
        await sender.setRemoteDescription(receiver.localDescription)
        await wait_for(lambda: len(handled) >= 60, 20, "60 packets handled")
        media = max({ssrc for ssrc, _ in handled}, key=[ssrc for ssrc, _ in handled].count)
        sequence = [seq for ssrc, seq in handled if ssrc == media]  # (RTX, if any, has its own)
        assert len(sequence) >= 55
        assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(sequence)), sequence
        assert received_in_place(receiver) >= 60
        frame = await rtp_receiver.track.recv()  # aiortc's own path still decodes them
        assert frame.width > 0
        assert not [r for r in caplog.records if r.name == "sfu.aiortc_internals"], caplog.text
    finally:
        await sender.close()
        await receiver.close()
