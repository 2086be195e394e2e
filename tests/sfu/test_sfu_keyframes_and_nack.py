"""Keyframe policy (PLI relay, late joiners) and NACK repair, with real aiortc peers."""

from __future__ import annotations

import asyncio
import time

from sfu_peers import contiguous, wait_for

from sfu import MediaKind, Sfu
from sfu.keyframes import vp8_is_keyframe_start


async def _publish(sfu: Sfu, peers, **kwargs):
    client = peers.publisher(**kwargs)
    publisher = await sfu.create_publisher(await client.offer())
    await client.accept(publisher.answer)
    video = next(t for t in publisher.tracks if t.kind is MediaKind.VIDEO)
    return client, publisher, video


async def test_late_subscriber_decodes_first_frame_within_one_second(sfu: Sfu, peers) -> None:
    pub_client, _publisher, video = await _publish(sfu, peers, audio=False)
    first = peers.subscriber()
    await first.whep(sfu.create_subscriber(), [video])
    await wait_for(lambda: first.tracks and first.video().frames > 5, 5, "first subscriber frames")
    # Let the stream run well past its initial keyframe (aiortc's encoder sends no more on its own).
    await asyncio.sleep(1.0)
    requests_before = pub_client.keyframe_requests

    late = peers.subscriber()
    started = time.monotonic()
    await late.whep(sfu.create_subscriber(), [video])
    await wait_for(lambda: late.tracks and late.video().first_frame_at is not None, 3, "late subscriber's first frame")
    elapsed = late.video().first_frame_at - started
    assert elapsed < 1.0, f"late subscriber waited {elapsed:.2f}s for its first frame"
    assert pub_client.keyframe_requests > requests_before, "no PLI reached the publisher"
    assert video.stats.keyframe_requests_sent >= 2


async def test_subscriber_pli_is_relayed_rate_limited(sfu: Sfu, peers) -> None:
    pub_client, _publisher, video = await _publish(sfu, peers, audio=False)
    client = peers.subscriber()
    subscriber = sfu.create_subscriber()
    await client.whep(subscriber, [video])
    await wait_for(lambda: client.tracks and client.video().frames > 3, 5, "frames")
    await asyncio.sleep(0.4)  # let the start-up request's rate-limit window pass
    before = pub_client.keyframe_requests
    receiver = client.pc.getTransceivers()[0].receiver
    ssrc = subscriber.forwarder(video).ssrc
    for _ in range(10):  # a burst of PLIs from the subscriber
        await receiver._send_rtcp_pli(ssrc)
    await asyncio.sleep(0.15)
    assert pub_client.keyframe_requests - before == 1, "burst not coalesced into one PLI"
    await wait_for(
        lambda: pub_client.keyframe_requests - before >= 2,
        1.0,
        "the delayed (coalesced) PLI after the rate-limit interval",
    )
    await asyncio.sleep(0.4)
    assert pub_client.keyframe_requests - before == 2
    assert subscriber.forwarder(video).stats.keyframe_requests_received == 10


async def test_loss_toward_one_subscriber_is_repaired_by_nack(sfu: Sfu, peers) -> None:
    _pub_client, _publisher, video = await _publish(sfu, peers, audio=False)
    lossy, clean = peers.subscriber(), peers.subscriber()
    dropped: set[int] = set()
    seen = 0

    def drop(packet) -> bool:
        # After a few packets (a receiver cannot NACK what precedes its first packet), drop
        # every 5th video packet once; its retransmission (RTX) gets through.
        nonlocal seen
        seen += 1
        seq = packet.sequence_number
        if seen > 5 and seq % 5 == 0 and seq not in dropped and len(dropped) < 12:
            dropped.add(seq)
            return True
        return False

    lossy.drop = drop
    lossy_sub = sfu.create_subscriber()
    await lossy.whep(lossy_sub, [video])
    await clean.whep(sfu.create_subscriber(), [video])
    await wait_for(lambda: len(dropped) >= 12, 6, "12 packets dropped")
    await wait_for(lambda: lossy.rtx_received >= len(dropped), 2, "retransmissions (RTX)")
    ssrc = lossy_sub.forwarder(video).ssrc
    seqs = [r.sequence_number for r in lossy.received if r.ssrc == ssrc or r.payload_type == -1]
    assert lossy.rtx_received >= len(dropped), "dropped packets were not retransmitted"
    assert dropped <= set(seqs), "some dropped packets never arrived"
    assert contiguous(seqs)
    frames = lossy.video().frames
    await asyncio.sleep(0.5)
    assert lossy.video().frames > frames + 8, "video stalled after loss"
    assert vp8_is_keyframe_start(lossy.records(ssrc, include_rtx=False)[0].payload)


async def test_loss_from_the_publisher_is_repaired_by_rtx_and_forwarded_unwrapped(sfu: Sfu, peers) -> None:
    pub_client, _publisher, video = await _publish(sfu, peers, audio=False)
    video_ssrc = pub_client.ssrc("video")
    dropped: set[int] = set()
    sent = 0

    def drop(packet) -> bool:
        nonlocal sent
        if packet.ssrc != video_ssrc:
            return False  # RTX (its own SSRC) gets through
        sent += 1
        seq = packet.sequence_number
        if sent > 10 and seq % 6 == 0 and seq not in dropped and len(dropped) < 8:
            dropped.add(seq)
            return True
        return False

    client = peers.subscriber()
    subscriber = sfu.create_subscriber()
    await client.whep(subscriber, [video])
    await wait_for(lambda: client.tracks and client.video().frames > 3, 5, "frames")
    pub_client.drop = drop
    await wait_for(lambda: len(dropped) >= 8, 6, "8 packets dropped toward the SFU")
    await wait_for(lambda: video.stats.packets_repaired >= 8, 2, "RTX repairs at the SFU")
    await asyncio.sleep(0.2)
    forwarder = subscriber.forwarder(video)
    records = client.records(forwarder.ssrc, include_rtx=False)
    # Repairs reach the subscriber as ordinary packets of its own stream, not as RTX.
    assert {r.payload_type for r in records} == {forwarder.payload_type}
    assert contiguous([r.sequence_number for r in records])
    sent_payloads = pub_client.sent_payloads("video")
    assert all((r.timestamp, r.payload) in sent_payloads for r in records)
    frames = client.video().frames
    await asyncio.sleep(0.4)
    assert client.video().frames > frames + 5


async def test_publisher_ssrc_change_resumes_at_keyframe_without_gap(sfu: Sfu, peers) -> None:
    pub_client, _publisher, video = await _publish(sfu, peers, audio=False)
    client = peers.subscriber()
    subscriber = sfu.create_subscriber()
    await client.whep(subscriber, [video])
    await wait_for(lambda: client.tracks and client.video().frames > 5, 5, "frames")
    await asyncio.sleep(0.4)
    requests = pub_client.keyframe_requests
    sender = pub_client.pc.getTransceivers()[0].sender
    # The client restarts its stream under a new SSRC (and routes RTCP feedback for it).
    sender._ssrc = 0x1234567
    sender.transport._rtp_router.register_sender(sender, 0x1234567)
    frames = client.video().frames
    await wait_for(lambda: client.video().frames > frames + 8, 3, "frames after the SSRC change")
    assert pub_client.keyframe_requests > requests, "no keyframe asked for after the restart"
    new_stream = {(r.timestamp, r.payload) for r in pub_client.sent if r.ssrc == 0x1234567}
    forwarder = subscriber.forwarder(video)
    records = client.records(forwarder.ssrc, include_rtx=False)
    first_new = next(r for r in records if (r.timestamp, r.payload) in new_stream)
    assert vp8_is_keyframe_start(first_new.payload), "restarted stream not resumed at a keyframe"
    assert contiguous([r.sequence_number for r in records])
