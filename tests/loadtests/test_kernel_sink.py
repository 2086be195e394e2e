"""The kernel drops a sink subscriber's RTP and lets STUN, DTLS and RTCP through."""

from __future__ import annotations

import asyncio
import os
import socket
import time

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from loadtests.kernel_sink import drop_rtp_in_kernel
from loadtests.media_clients import LOOPBACK, CountingSubscriber
from loadtests.sources import MovingTexture
from loadtests.udp_drops import udp_drops
from sfu.aiortc_internals import configure_host_addresses

DATAGRAMS = {
    "rtp": b"\x80\x60" + bytes(30),
    "rtp with marker": b"\x80\xe0" + bytes(30),
    "rtcp sender report": b"\x80\xc8" + bytes(30),
    "rtcp receiver report": b"\x81\xc9" + bytes(30),
    "stun": b"\x00\x01" + bytes(30),
    "dtls": b"\x16\xfe" + bytes(30),
    "stun, one byte": b"\x01",
    "rtp-like, one byte": b"\x80",  # too short to read its second byte: BPF drops it
}


def test_the_filter_drops_rtp_only() -> None:
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sink.bind(("127.0.0.1", 0))
        sink.setblocking(False)
        drop_rtp_in_kernel(sink)
        for data in DATAGRAMS.values():
            sender.sendto(data, sink.getsockname())
        time.sleep(0.05)
        got = set()
        while True:
            try:
                got.add(sink.recv(100))
            except BlockingIOError:
                break
        assert {name for name, data in DATAGRAMS.items() if data in got} == {
            "rtcp sender report", "rtcp receiver report", "stun", "dtls", "stun, one byte"}
    finally:
        sink.close()
        sender.close()


async def test_a_sink_subscriber_stays_connected_and_counts_nothing() -> None:
    sender = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    subscriber = CountingSubscriber(light=True, sink=True)
    try:
        offer = await subscriber.offer(["video"])
        sender.addTrack(MovingTexture())
        configure_host_addresses(sender, LOOPBACK)
        await sender.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await sender.setLocalDescription(await sender.createAnswer())
        await subscriber.accept(sender.localDescription.sdp)
        assert subscriber.sink_inodes
        before = udp_drops([os.getpid()])
        await asyncio.sleep(2.0)
        after = udp_drops([os.getpid()])
        dropped = sum(after.get(i, 0) - before.get(i, 0) for i in subscriber.sink_inodes)
        assert subscriber.pc.connectionState == "connected"  # ICE and DTLS got through
        assert subscriber.packets == 0 and dropped > 20  # the video did not
    finally:
        await subscriber.close()
        await sender.close()
