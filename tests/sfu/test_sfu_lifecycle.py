"""Publisher leaving, resource leaks, server-driven renegotiation, bad input."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sfu_peers import LOOPBACK, PublisherClient, SubscriberClient, resources, wait_for

from sfu import (
    ForwarderState,
    InvalidAnswer,
    InvalidOffer,
    MediaKind,
    PublishedTrack,
    Publisher,
    Sfu,
    SfuClosedError,
    SfuConfig,
    Subscriber,
)


async def test_publisher_leaving_tells_subscribers_and_frees_everything() -> None:
    before = resources()
    sfu = Sfu(SfuConfig(addresses=LOOPBACK))
    pub_client = PublisherClient()
    publisher = await sfu.create_publisher(await pub_client.offer())
    await pub_client.accept(publisher.answer)
    closed: list[Publisher] = []
    publisher.on_close.connect(closed.append)
    ended: list[tuple[str, PublishedTrack]] = []
    clients: list[SubscriberClient] = []
    subscribers: list[Subscriber] = []
    for i in range(2):
        client = SubscriberClient()
        subscriber = sfu.create_subscriber(subscriber_id=f"s{i}")
        subscriber.on_track_ended.connect(lambda t, i=i: ended.append((f"s{i}", t)))
        await client.whep(subscriber, list(publisher.tracks))
        clients.append(client)
        subscribers.append(subscriber)
    for client in clients:
        await wait_for(lambda c=client: len(c.tracks) == 2 and c.video().frames > 5, 5, "frames")
    assert sfu.counters.publishers == 1 and sfu.counters.subscribers == 2
    during = resources()
    assert during[0] > before[0] and during[2] > before[2], "measurement cannot see resources"

    await pub_client.close()  # the client leaves; the SFU must notice on its own
    await wait_for(lambda: closed == [publisher], 5, "publisher on_close")
    assert sorted((s, t.kind.value) for s, t in ended) == [
        ("s0", "audio"),
        ("s0", "video"),
        ("s1", "audio"),
        ("s1", "video"),
    ]
    assert all(t.ended for t in publisher.tracks)
    assert all(f.state is ForwarderState.SOURCE_ENDED for s in subscribers for f in s.forwarders)
    assert not sfu.publishers and sfu.counters.publishers == 0
    assert publisher.decoders_idle()

    for client in clients:
        await client.close()
    await sfu.close()
    await sfu.close()  # idempotent
    await publisher.close()
    await asyncio.sleep(0.3)
    after = resources()
    assert after[0] <= before[0], f"asyncio tasks leaked: {asyncio.all_tasks()}"
    assert after[1] <= before[1], f"threads leaked: {after[1] - before[1]}"
    assert after[2] <= before[2], f"file descriptors leaked: {before[2]} -> {after[2]}"
    assert sfu.counters.subscribers == 0


async def test_no_decoder_thread_runs_for_forwarded_tracks(sfu: Sfu, peers) -> None:
    def decoder_threads() -> list[str]:
        return [t.name for t in threading.enumerate() if t.name.endswith("-decoder")]

    assert decoder_threads() == []
    pub_client = peers.publisher()
    publisher = await sfu.create_publisher(await pub_client.offer())
    await pub_client.accept(publisher.answer)
    await wait_for(lambda: all(t.stats.packets_received > 10 for t in publisher.tracks), 5, "media at the SFU")
    # Only the SFU receives in this process: any decoder thread would be the SFU's.
    assert decoder_threads() == []
    assert publisher.decoders_idle()


async def test_server_driven_renegotiation_adds_and_removes_tracks(sfu: Sfu, peers) -> None:
    pubs = []
    for name in ("a", "b"):
        client = peers.publisher(audio=False)
        publisher = await sfu.create_publisher(await client.offer(), publisher_id=name)
        await client.accept(publisher.answer)
        pubs.append(publisher)
    video_a, video_b = (p.tracks[0] for p in pubs)

    client = peers.subscriber()
    subscriber = sfu.create_subscriber()
    subscriber.add_track(video_a)
    await subscriber.apply_answer(await client.answer_server_offer(await subscriber.create_offer()))
    await wait_for(lambda: len(client.tracks) == 1 and client.video().frames > 5, 5, "video a")

    subscriber.add_track(video_b)
    await subscriber.apply_answer(await client.answer_server_offer(await subscriber.create_offer()))
    await wait_for(
        lambda: len(client.tracks) == 2 and all(t.frames > 5 for t in client.tracks.values()), 5, "video a and b"
    )
    fwd_a = subscriber.forwarder(video_a)
    fwd_b = subscriber.forwarder(video_b)
    assert fwd_a.ssrc != fwd_b.ssrc and fwd_a.mid != fwd_b.mid

    subscriber.remove_track(video_a)
    offer = await subscriber.create_offer()
    assert "a=inactive" in offer
    await subscriber.apply_answer(await client.answer_server_offer(offer))
    assert fwd_a.state is ForwarderState.CLOSED and subscriber.forwarder(video_a) is None
    count_a = fwd_a.stats.packets_forwarded
    count_b = fwd_b.stats.packets_forwarded
    await asyncio.sleep(0.4)
    assert fwd_a.stats.packets_forwarded == count_a, "removed track still forwarded"
    assert fwd_b.stats.packets_forwarded > count_b
    assert video_a.subscriber_count == 0 and video_b.subscriber_count == 1

    with pytest.raises(InvalidAnswer):
        await subscriber.apply_answer("v=0\r\nnonsense")


BAD_OFFERS = {
    "empty": "",
    "garbage": "hello, I am not SDP",
    "no media": ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE\r\na=msid-semantic:WMS *\r\n"),
    "broken media": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 97\r\n",
}


@pytest.mark.parametrize("name", list(BAD_OFFERS))
async def test_bad_offer_raises_invalid_offer_and_leaves_nothing(sfu: Sfu, peers, name: str) -> None:
    with pytest.raises(InvalidOffer):
        await sfu.create_publisher(BAD_OFFERS[name])
    assert not sfu.publishers and sfu.counters.publishers == 0


async def test_bad_offers_do_not_break_other_publishers(sfu: Sfu, peers) -> None:
    pub_client = peers.publisher(audio=False)
    publisher = await sfu.create_publisher(await pub_client.offer())
    await pub_client.accept(publisher.answer)
    client = peers.subscriber()
    await client.whep(sfu.create_subscriber(), list(publisher.tracks))
    await wait_for(lambda: client.tracks and client.video().frames > 3, 5, "frames")
    for bad in BAD_OFFERS.values():
        with pytest.raises(InvalidOffer):
            await sfu.create_publisher(bad)
    with pytest.raises(InvalidOffer):
        await sfu.create_subscriber().answer("garbage", list(publisher.tracks))
    frames = client.video().frames
    await wait_for(lambda: client.video().frames > frames + 10, 3, "frames after bad offers")
    assert list(sfu.publishers) == [publisher.id]


async def test_offer_with_unsupported_codec_is_rejected(sfu: Sfu) -> None:
    client = PublisherClient(video=False)
    pcmu = [
        c for c in client.pc.getTransceivers()[0].sender.getCapabilities("audio").codecs if c.mimeType == "audio/PCMU"
    ]
    client.pc.getTransceivers()[0].setCodecPreferences(pcmu)
    try:
        with pytest.raises(InvalidOffer, match="PCMU"):
            await sfu.create_publisher(await client.offer())
    finally:
        await client.close()


async def test_closed_objects_refuse_use(sfu: Sfu) -> None:
    subscriber = sfu.create_subscriber()
    await subscriber.close()
    await subscriber.close()
    with pytest.raises(SfuClosedError):
        await subscriber.create_offer()
    await sfu.close()
    with pytest.raises(SfuClosedError):
        sfu.create_subscriber()
    assert MediaKind.AUDIO.value == "audio"


async def test_subscriber_offer_missing_an_m_line_is_rejected_and_cleaned_up(sfu: Sfu, peers) -> None:
    pub_client = peers.publisher(audio=False)
    publisher = await sfu.create_publisher(await pub_client.offer())
    await pub_client.accept(publisher.answer)
    (video,) = publisher.tracks
    client = peers.subscriber()
    client.pc.addTransceiver("audio", direction="recvonly")  # offers audio, we ask for video
    await client.pc.setLocalDescription(await client.pc.createOffer())
    subscriber = sfu.create_subscriber()
    with pytest.raises(InvalidOffer, match="no m-line"):
        await subscriber.answer(client.pc.localDescription.sdp, [video])
    assert video.subscriber_count == 0 and subscriber.forwarders == ()
