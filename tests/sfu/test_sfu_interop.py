"""Offers from standard WebRTC clients: BUNDLE, extmap attributes, DTLS role with RSA
certificates, mDNS-only candidates, WHEP kind selection, and no candidates to offer."""

from __future__ import annotations

import re
import uuid

import pytest
from sfu_peers import wait_for

from sfu import InvalidOffer, MediaKind, NoCandidates, Sfu, SfuConfig


def _without_bundle(sdp: str) -> str:
    return re.sub(r"a=group:BUNDLE[^\r\n]*\r\n", "", sdp)


def _to_mdns(sdp: str) -> str:
    """Rename every candidate's address to an mDNS name, as browsers without camera permission do."""
    return re.sub(
        r"^(a=candidate:\S+ \d+ \S+ \d+ )(\S+)( )",
        lambda m: f"{m.group(1)}{uuid.uuid4()}.local{m.group(3)}",
        sdp,
        flags=re.MULTILINE,
    )


async def test_publisher_offer_without_bundle_is_refused_clearly(sfu: Sfu, peers) -> None:
    client = peers.publisher()
    with pytest.raises(InvalidOffer, match=r"requires BUNDLE \(a=group:BUNDLE"):
        await sfu.create_publisher(_without_bundle(await client.offer()))
    assert sfu.counters.publishers == 0 and not sfu.publishers


async def test_whep_offer_without_bundle_is_refused_clearly(sfu: Sfu, peers) -> None:
    pub_client = peers.publisher()
    publisher = await sfu.create_publisher(await pub_client.offer())
    subscriber = sfu.create_subscriber()
    with pytest.raises(InvalidOffer, match=r"requires BUNDLE"):
        await peers.subscriber().whep(subscriber, list(publisher.tracks), rewrite=_without_bundle)
    assert subscriber.closed and sfu.counters.subscribers == 0


async def test_bundle_naming_an_unknown_mid_is_refused_clearly(sfu: Sfu, peers) -> None:
    client = peers.publisher()
    offer = (await client.offer()).replace("a=group:BUNDLE 0 1", "a=group:BUNDLE 0 7")
    with pytest.raises(InvalidOffer, match="BUNDLE group names unknown mid '7'"):
        await sfu.create_publisher(offer)
    assert sfu.counters.publishers == 0


async def test_extmap_attributes_and_directions_are_accepted(sfu: Sfu, peers) -> None:
    pub_client = peers.publisher()

    def with_attributes(sdp: str) -> str:
        sdp = sdp.replace(
            "urn:ietf:params:rtp-hdrext:ssrc-audio-level", "urn:ietf:params:rtp-hdrext:ssrc-audio-level vad=on"
        )
        return re.sub(r"a=extmap:(\d+) (\S*abs-send-time)", r"a=extmap:\1/sendrecv \2", sdp)

    offer = with_attributes(await pub_client.offer())
    assert " vad=on" in offer and "/sendrecv http" in offer
    publisher = await sfu.create_publisher(offer)
    await pub_client.accept(publisher.answer)
    assert "vad=on" not in publisher.answer
    audio = next(t for t in publisher.tracks if t.kind is MediaKind.AUDIO)
    levels: list[int] = []
    audio.on_audio_level.connect(levels.append)
    await wait_for(lambda: all(t.stats.packets_received > 10 for t in publisher.tracks), 5, "media at the SFU")
    assert levels, "the audio level extension is still negotiated"

    client = peers.subscriber()
    subscriber = sfu.create_subscriber()
    await client.whep(subscriber, list(publisher.tracks), rewrite=with_attributes)
    await wait_for(lambda: len(client.tracks) == 2 and client.video().frames > 3, 5, "frames at the subscriber")


async def test_client_with_rsa_certificate_publishes_and_subscribes(sfu: Sfu, peers) -> None:
    pub_client = peers.publisher(rsa_cert=True)
    offer = await pub_client.offer()
    assert "a=setup:actpass" in offer
    publisher = await sfu.create_publisher(offer)
    setups = re.findall(r"a=setup:(\w+)", publisher.answer)
    assert setups and set(setups) == {"passive"}, "answer actpass with passive: the client is the DTLS client"
    await pub_client.accept(publisher.answer)
    await wait_for(lambda: all(t.stats.packets_received > 10 for t in publisher.tracks), 5, "media at the SFU")

    client = peers.subscriber(rsa_cert=True)
    subscriber = sfu.create_subscriber()
    answer = await client.whep(subscriber, list(publisher.tracks))
    assert set(re.findall(r"a=setup:(\w+)", answer)) == {"passive"}
    await wait_for(lambda: len(client.tracks) == 2 and client.video().frames > 3, 5, "frames at the RSA subscriber")


async def test_offer_saying_passive_is_answered_active(sfu: Sfu, peers) -> None:
    client = peers.publisher(audio=False)
    offer = (await client.offer()).replace("a=setup:actpass", "a=setup:passive")
    publisher = await sfu.create_publisher(offer)
    assert set(re.findall(r"a=setup:(\w+)", publisher.answer)) == {"active"}


async def test_mdns_only_offers_connect_through_peer_reflexive_candidates(sfu: Sfu, peers) -> None:
    pub_client = peers.publisher()
    offer = _to_mdns(await pub_client.offer())
    assert ".local " in offer and "127.0.0.1 " not in offer.split("a=candidate")[1]
    publisher = await sfu.create_publisher(offer)
    assert "a=candidate:" in publisher.answer, "the answer must carry the server's candidates"
    await pub_client.accept(publisher.answer)  # the client checks from its real address
    await wait_for(lambda: all(t.stats.packets_received > 10 for t in publisher.tracks), 5, "media at the SFU")

    client = peers.subscriber()
    subscriber = sfu.create_subscriber()
    answer = await client.whep(subscriber, list(publisher.tracks), rewrite=_to_mdns)
    assert "a=candidate:" in answer
    await wait_for(lambda: len(client.tracks) == 2 and client.video().frames > 3, 5, "frames at the subscriber")


@pytest.mark.parametrize("kind", ["audio", "video"])
async def test_whep_offer_with_one_kind_gets_that_kind_only(sfu: Sfu, peers, kind: str) -> None:
    pub_client = peers.publisher()
    publisher = await sfu.create_publisher(await pub_client.offer())
    await pub_client.accept(publisher.answer)
    client = peers.subscriber()
    subscriber = sfu.create_subscriber()
    await client.whep(subscriber, list(publisher.tracks), kinds=[kind])
    assert [f.source.kind.value for f in subscriber.forwarders] == [kind]
    await wait_for(
        lambda: len(client.tracks) == 1 and next(iter(client.tracks.values())).frames > 3, 5, f"{kind} frames"
    )
    assert next(iter(client.tracks.values())).kind == kind
    other = next(t for t in publisher.tracks if t.kind.value != kind)
    assert other.subscriber_count == 0


async def test_whep_m_line_of_a_kind_not_published_is_answered_inactive(sfu: Sfu, peers) -> None:
    pub_client = peers.publisher(audio=False)
    publisher = await sfu.create_publisher(await pub_client.offer())
    await pub_client.accept(publisher.answer)
    client = peers.subscriber()
    subscriber = sfu.create_subscriber()
    answer = await client.whep(subscriber, list(publisher.tracks), kinds=["audio", "video", "video"])
    sections = answer.split("\r\nm=")[1:]
    assert [s.split(" ")[0] for s in sections] == ["audio", "video", "video"]
    assert "a=inactive" in sections[0] and "a=sendonly" in sections[1] and "a=inactive" in sections[2]
    await wait_for(lambda: client.tracks and client.video().frames > 3, 5, "video frames")
    assert len(subscriber.forwarders) == 1


async def test_no_candidates_to_offer_raises_no_candidates_and_frees_everything(peers) -> None:
    sfu = Sfu(SfuConfig(addresses=("192.0.2.1",)))  # TEST-NET: not an address of this host
    try:
        client = peers.publisher()
        with pytest.raises(NoCandidates):
            await sfu.create_publisher(await client.offer())
        assert sfu.counters.publishers == 0 and not sfu.publishers
    finally:
        await sfu.close()


async def test_mdns_only_answer_to_a_server_offer_connects(sfu: Sfu, peers) -> None:
    """Socket.IO style: the server offers, a browser without camera permission answers with
    mDNS candidates only (and attributes on its extmap lines)."""
    pub_client = peers.publisher()
    publisher = await sfu.create_publisher(await pub_client.offer())
    await pub_client.accept(publisher.answer)
    client = peers.subscriber()
    subscriber = sfu.create_subscriber()
    for track in publisher.tracks:
        subscriber.add_track(track)
    answer = await client.answer_server_offer(await subscriber.create_offer())
    answer = _to_mdns(answer).replace("ssrc-audio-level", "ssrc-audio-level vad=on")
    assert ".local " in answer and "vad=on" in answer
    await subscriber.apply_answer(answer)
    await wait_for(lambda: len(client.tracks) == 2 and client.video().frames > 3, 5, "frames at the subscriber")
