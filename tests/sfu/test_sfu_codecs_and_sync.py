"""H.264 and Opus forwarding, RTCP sender report translation, audio levels."""

from __future__ import annotations

import asyncio

from sfu_peers import contiguous, wait_for

from sfu import ActiveSpeakerDetector, Codec, MediaKind, Sfu
from sfu.keyframes import h264_is_keyframe_start


async def test_h264_flows_and_starts_at_a_keyframe(sfu: Sfu, peers) -> None:
    pub_client = peers.publisher(audio=False, video_codec="video/H264")
    publisher = await sfu.create_publisher(await pub_client.offer())
    await pub_client.accept(publisher.answer)
    (video,) = publisher.tracks
    assert video.codec is Codec.H264
    await asyncio.sleep(0.8)  # join mid-stream: the SFU must wait for (and ask for) an IDR

    client = peers.subscriber()
    subscriber = sfu.create_subscriber()
    await client.whep(subscriber, [video])
    await wait_for(lambda: client.tracks and client.video().frames >= 15, 6, "15 decoded H.264 frames")
    forwarder = subscriber.forwarder(video)
    records = client.records(forwarder.ssrc, include_rtx=False)
    assert h264_is_keyframe_start(records[0].payload), "H.264 did not start at SPS/IDR"
    sent = pub_client.sent_payloads("video")
    assert all((r.timestamp, r.payload) in sent for r in records)
    assert contiguous([r.sequence_number for r in records])
    assert len(set(client.video().bar_positions)) > 2
    assert publisher.decoders_idle()


async def test_opus_flows_with_audio_levels_and_active_speaker(sfu: Sfu, peers) -> None:
    pub_client = peers.publisher(video=False)
    publisher = await sfu.create_publisher(await pub_client.offer(), publisher_id="speaker")
    await pub_client.accept(publisher.answer)
    (audio,) = publisher.tracks
    assert audio.codec is Codec.OPUS and audio.kind is MediaKind.AUDIO
    detector = ActiveSpeakerDetector(hold=0.1)
    changes: list[str | None] = []
    detector.on_change.connect(changes.append)
    detector.watch(audio)

    client = peers.subscriber()
    subscriber = sfu.create_subscriber()
    await client.whep(subscriber, [audio])
    await wait_for(lambda: client.tracks and client.audio().frames >= 25, 5, "decoded audio")
    forwarder = subscriber.forwarder(audio)
    records = client.records(forwarder.ssrc)
    sent = pub_client.sent_payloads("audio")
    assert all((r.timestamp, r.payload) in sent for r in records)
    assert contiguous([r.sequence_number for r in records])
    levels = {r.audio_level for r in records}
    assert None not in levels, "audio level header extension not forwarded"
    assert all(level[1] < 40 for level in levels), f"tone should be loud, got {levels}"
    assert changes == ["speaker"] and detector.speaker == "speaker"
    assert publisher.decoders_idle()


async def test_sender_reports_are_translated_for_lip_sync(sfu: Sfu, peers) -> None:
    pub_client = peers.publisher()
    publisher = await sfu.create_publisher(await pub_client.offer())
    await pub_client.accept(publisher.answer)
    client = peers.subscriber()
    subscriber = sfu.create_subscriber()
    await client.whep(subscriber, list(publisher.tracks))

    def translated() -> list[tuple[int, int, int]]:
        ours = {f.ssrc for f in subscriber.forwarders}
        return [sr for sr in client.sender_reports if sr[0] in ours and sr[1] != 0]

    await wait_for(
        lambda: {sr[0] for sr in translated()} == {f.ssrc for f in subscriber.forwarders},
        6,
        "a translated SR for both audio and video",
    )
    published = {(ntp, rtp) for _, ntp, rtp in pub_client.sender_reports}
    for _ssrc, ntp, rtp in translated():
        assert (ntp, rtp) in published, "SR clock differs from the publisher's"
    for forwarder in subscriber.forwarders:
        source_ssrc = pub_client.ssrc(forwarder.source.kind.value)
        pairs = {(n, r) for s, n, r in pub_client.sender_reports if s == source_ssrc}
        got = {(n, r) for s, n, r in translated() if s == forwarder.ssrc}
        assert got <= pairs, f"{forwarder.source.kind} SR mixed up with another stream"
