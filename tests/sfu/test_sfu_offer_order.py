"""A WHEP-style offer whose m-lines come in another order than the publisher's tracks."""

from __future__ import annotations

import asyncio

from aiortc import RTCPeerConnection, RTCSessionDescription
from sfu_peers import MovingBarTrack, ToneTrack

from sfu import Sfu


async def test_answer_has_candidates_whatever_the_track_order(sfu: Sfu) -> None:
    publisher_pc, viewer_pc = RTCPeerConnection(), RTCPeerConnection()
    try:
        publisher_pc.addTransceiver(ToneTrack(), direction="sendonly")  # audio first, like Chromium
        publisher_pc.addTransceiver(MovingBarTrack(), direction="sendonly")
        await publisher_pc.setLocalDescription(await publisher_pc.createOffer())
        publisher = await sfu.create_publisher(publisher_pc.localDescription.sdp)
        await publisher_pc.setRemoteDescription(RTCSessionDescription(publisher.answer, "answer"))
        for _ in range(100):
            if publisher.tracks and all(t.live for t in publisher.tracks):
                break
            await asyncio.sleep(0.05)
        viewer_pc.addTransceiver("video", direction="recvonly")  # video first, like most WHEP players
        viewer_pc.addTransceiver("audio", direction="recvonly")
        await viewer_pc.setLocalDescription(await viewer_pc.createOffer())
        answer = await sfu.create_subscriber().answer(viewer_pc.localDescription.sdp, list(publisher.tracks))
        assert "a=candidate" in answer and " 127.0.0.1 " in answer
        await viewer_pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        for _ in range(100):
            if viewer_pc.connectionState == "connected":
                break
            await asyncio.sleep(0.05)
        assert viewer_pc.connectionState == "connected"
    finally:
        await publisher_pc.close()
        await viewer_pc.close()
