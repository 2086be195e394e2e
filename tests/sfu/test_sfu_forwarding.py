"""VP8 + Opus forwarding 1 → 3 with real aiortc peers over loopback."""

from __future__ import annotations

from sfu_peers import contiguous, wait_for

from sfu import ForwarderState, MediaKind, Sfu
from sfu.keyframes import vp8_is_keyframe_start


async def test_vp8_forwarded_byte_identical_to_three_decoding_subscribers(sfu: Sfu, peers) -> None:
    pub_client = peers.publisher()
    publisher = await sfu.create_publisher(await pub_client.offer(), publisher_id="alice")
    await pub_client.accept(publisher.answer)
    # No trickle ICE: the answer already carries the (configured, loopback) candidates.
    assert "a=candidate:" in publisher.answer and " 127.0.0.1 " in publisher.answer
    assert "a=end-of-candidates" in publisher.answer
    video = next(t for t in publisher.tracks if t.kind is MediaKind.VIDEO)
    audio = next(t for t in publisher.tracks if t.kind is MediaKind.AUDIO)

    clients = []
    for i in range(3):
        client = peers.subscriber()
        subscriber = sfu.create_subscriber(subscriber_id=f"s{i}")
        # The third subscriber numbers VP8 differently: the SFU must rewrite the payload type.
        munge = {97: 110, 98: 111} if i == 2 else None
        await client.whep(subscriber, [video, audio], munge=munge)
        clients.append((client, subscriber))

    for client, _ in clients:
        await wait_for(
            lambda c=client: len(c.tracks) == 2 and c.video().frames >= 20,
            8,
            "20 decoded video frames at every subscriber",
        )

    assert publisher.decoders_idle(), "SFU started a decoder for a forwarded track"
    sent = pub_client.sent_payloads("video")
    for client, subscriber in clients:
        forwarder = subscriber.forwarder(video)
        assert forwarder is not None and forwarder.state is ForwarderState.FORWARDING
        records = client.records(forwarder.ssrc, include_rtx=False)
        assert len(records) >= 20
        # Payloads byte-identical to what the publisher sent, same timestamps.
        missing = [r.sequence_number for r in records if (r.timestamp, r.payload) not in sent]
        assert not missing, f"{len(missing)} forwarded payloads differ from the publisher's"
        assert {r.payload_type for r in records} == {forwarder.payload_type}
        assert contiguous([r.sequence_number for r in records]), "gap in subscriber sequence"
        assert vp8_is_keyframe_start(records[0].payload), "video did not start at a keyframe"
        # The picture moves.
        assert len(set(client.video().bar_positions)) > 3
        # Audio decodes too.
        await wait_for(lambda c=client: c.audio().frames > 10, 3, "decoded audio")
    assert clients[2][1].forwarder(video).payload_type == 110
    assert clients[0][1].forwarder(video).payload_type == 97
    assert video.stats.packets_forwarded >= 3 * 20
    assert sfu.counters.packets_forwarded >= video.stats.packets_forwarded
    assert sfu.counters.bytes_forwarded > 0
