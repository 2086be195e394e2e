"""Offers from standard WebRTC clients: BUNDLE, extmap attributes, DTLS role with RSA
certificates, mDNS-only candidates, WHEP kind selection, and no candidates to offer."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sfu_peers import LOOPBACK, SubscriberClient, wait_for

from sfu import InvalidOffer, MediaKind, NoCandidates, Sfu, SfuConfig, Subscriber
from sfu.aiortc_internals import configure_host_addresses


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


async def _server_offer_of_everything(sfu: Sfu, peers: Any) -> tuple[SubscriberClient, Subscriber, str]:
    """Socket.IO style: a client publishing, and the server's offer of all its tracks to a new subscriber.

    Returns (the subscribing client, the SFU's subscriber, the offer)."""
    pub_client = peers.publisher()
    publisher = await sfu.create_publisher(await pub_client.offer())
    await pub_client.accept(publisher.answer)
    client = peers.subscriber()
    subscriber = sfu.create_subscriber()
    for track in publisher.tracks:
        subscriber.add_track(track)
    return client, subscriber, await subscriber.create_offer()


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
    client, subscriber, offer = await _server_offer_of_everything(sfu, peers)
    answer = await client.answer_server_offer(offer)
    answer = _to_mdns(answer).replace("ssrc-audio-level", "ssrc-audio-level vad=on")
    assert ".local " in answer and "vad=on" in answer
    await subscriber.apply_answer(answer)
    await wait_for(lambda: len(client.tracks) == 2 and client.video().frames > 3, 5, "frames at the subscriber")


# --- BUNDLE transport: candidates and end-of-candidates of bundled m-lines ---------------


def _split(sdp: str) -> tuple[str, list[str]]:
    head, *sections = sdp.split("\r\nm=")
    return head, sections


def _join(head: str, sections: list[str]) -> str:
    return "\r\nm=".join([head, *sections])


def _candidates_in_first_only(sdp: str, end_of_candidates: bool = True) -> str:
    """Firefox's bundled shape: candidates in the first m-line only, `a=end-of-candidates` in
    each (`end_of_candidates=False`: Chromium's, no end-of-candidates line at all)."""
    head, sections = _split(sdp)
    out = []
    for index, section in enumerate(sections):
        lines = [line for line in section.split("\r\n") if line != "a=end-of-candidates"]
        if index:
            lines = [line for line in lines if not line.startswith("a=candidate:")]
        if end_of_candidates:
            lines.insert(len(lines) - 1 if lines[-1] == "" else len(lines), "a=end-of-candidates")
        out.append("\r\n".join(lines))
    return _join(head, out)


def _without_candidates_of(sdp: str, index: int) -> str:
    """The shape the offer fuzz found: one m-line's candidate lines removed, its
    `a=end-of-candidates` kept."""
    head, sections = _split(sdp)
    sections[index] = "\r\n".join(line for line in sections[index].split("\r\n") if not line.startswith("a=candidate:"))
    return _join(head, sections)


def _remote_host_candidates(peer: object) -> list[str]:
    """Host candidates the server's ICE agent was given (not peer-reflexive ones learned from checks)."""
    ice = peer._pc.getTransceivers()[0].receiver.transport.transport  # type: ignore[attr-defined]
    return [f"{c.ip}:{c.port}" for c in ice.getRemoteCandidates() if c.type == "host"]


def _client_host_candidates(client: object, transceiver: int = 0) -> list[str]:
    """The client's own host candidates (of its first transceiver's transport unless told)."""
    ice = client.pc.getTransceivers()[transceiver].sender.transport.transport  # type: ignore[attr-defined]
    return [f"{c.host}:{c.port}" for c in ice._connection.local_candidates]


async def test_firefox_shaped_bundled_offers_connect_with_the_clients_candidates(sfu: Sfu, peers) -> None:
    """Firefox bundles with candidates in the first m-line only and `a=end-of-candidates` in
    every m-line. aiortc kept the last m-line's (none) and aioice, told "no candidate, end of
    candidates", pruned its only component: the answer had no candidate (NoCandidates)."""
    pub_client = peers.publisher()
    offer = _candidates_in_first_only(await pub_client.offer())
    _, sections = _split(offer)
    assert "a=candidate:" in sections[0] and "a=candidate:" not in sections[1]
    assert all("a=end-of-candidates" in s for s in sections)
    publisher = await sfu.create_publisher(offer)
    assert "a=candidate:" in publisher.answer
    assert _remote_host_candidates(publisher) == _client_host_candidates(pub_client)
    await pub_client.accept(publisher.answer)
    await wait_for(lambda: all(t.stats.packets_received > 10 for t in publisher.tracks), 5, "media at the SFU")

    client = peers.subscriber()
    subscriber = sfu.create_subscriber()
    answer = await client.whep(subscriber, list(publisher.tracks), rewrite=_candidates_in_first_only)
    assert "a=candidate:" in answer
    assert _remote_host_candidates(subscriber) == _client_host_candidates(client)
    await wait_for(lambda: len(client.tracks) == 2 and client.video().frames > 3, 5, "frames at the subscriber")


async def test_whep_offer_missing_the_second_m_lines_candidate_is_answered(sfu: Sfu, peers) -> None:
    """The offer fuzz's find: a WHEP offer (audio + video, BUNDLE) whose second m-line lost
    its candidate but kept `a=end-of-candidates` was refused with NoCandidates."""
    pub_client = peers.publisher()
    publisher = await sfu.create_publisher(await pub_client.offer())
    await pub_client.accept(publisher.answer)
    client = peers.subscriber()
    subscriber = sfu.create_subscriber()
    answer = await client.whep(subscriber, list(publisher.tracks), rewrite=lambda sdp: _without_candidates_of(sdp, 1))
    assert "a=candidate:" in answer
    assert _remote_host_candidates(subscriber) == _client_host_candidates(client)
    await wait_for(lambda: len(client.tracks) == 2 and client.video().frames > 3, 5, "frames at the subscriber")


async def test_chromium_shaped_bundled_offer_gives_the_server_the_clients_candidates(sfu: Sfu, peers) -> None:
    """Chromium bundles with candidates in the first m-line only and no end-of-candidates:
    the server's ICE agent gets them (it used to learn the client only from its checks)."""
    pub_client = peers.publisher()
    offer = _candidates_in_first_only(await pub_client.offer(), end_of_candidates=False)
    publisher = await sfu.create_publisher(offer)
    assert _remote_host_candidates(publisher) == _client_host_candidates(pub_client)
    await pub_client.accept(publisher.answer)
    await wait_for(lambda: all(t.stats.packets_received > 10 for t in publisher.tracks), 5, "media at the SFU")


async def test_transport_of_the_bundle_tagged_m_line_rules_every_m_line(sfu: Sfu, peers) -> None:
    """The BUNDLE group's first mid names the transport, wherever its m-line is: here the
    second m-line has the candidates and the first only `a=end-of-candidates`."""
    pub_client = peers.publisher()
    publisher = await sfu.create_publisher(await pub_client.offer())
    await pub_client.accept(publisher.answer)

    def tagged_second(sdp: str) -> str:
        return _without_candidates_of(sdp.replace("a=group:BUNDLE 0 1", "a=group:BUNDLE 1 0"), 0)

    client = peers.subscriber()
    subscriber = sfu.create_subscriber()
    answer = await subscriber.answer(await _whep_offer(client, tagged_second), list(publisher.tracks))
    assert "a=candidate:" in answer and "a=group:BUNDLE 0 1\r\n" in answer
    assert _remote_host_candidates(subscriber) == _client_host_candidates(client, transceiver=1)


async def _whep_offer(client: object, rewrite: object) -> str:
    pc = client.pc  # type: ignore[attr-defined]
    pc.addTransceiver("audio", direction="recvonly")
    pc.addTransceiver("video", direction="recvonly")
    configure_host_addresses(pc, LOOPBACK)
    await pc.setLocalDescription(await pc.createOffer())
    return rewrite(str(pc.localDescription.sdp))  # type: ignore[operator,no-any-return]


@pytest.mark.parametrize(
    "unusable",
    [
        pytest.param(lambda line: re.sub(r" typ host", " typ prflx", line), id="prflx"),
        pytest.param(lambda line: re.sub(r"^(a=candidate:\S+) 1 ", r"\1 2 ", line), id="component-2"),
        pytest.param(lambda line: re.sub(r" 127\.0\.0\.1 ", " client.example ", line), id="hostname"),
        pytest.param(lambda line: re.sub(r" udp ", " tcp ", line), id="tcp"),
    ],
)
async def test_end_of_candidates_without_a_usable_candidate_waits_for_checks(sfu: Sfu, peers, unusable) -> None:
    """Candidates aioice ignores plus `a=end-of-candidates` would prune its only component:
    the end-of-candidates is dropped, the answer has candidates and ICE completes through
    the client's checks (peer-reflexive)."""
    pub_client = peers.publisher()
    publisher = await sfu.create_publisher(await pub_client.offer())
    await pub_client.accept(publisher.answer)

    def rewrite(sdp: str) -> str:
        return "\r\n".join(unusable(line) if line.startswith("a=candidate:") else line for line in sdp.split("\r\n"))

    client = peers.subscriber()
    subscriber = sfu.create_subscriber()
    answer = await client.whep(subscriber, list(publisher.tracks), rewrite=rewrite)
    assert "a=candidate:" in answer
    await wait_for(lambda: len(client.tracks) == 2 and client.video().frames > 3, 5, "frames at the subscriber")


async def test_firefox_shaped_answer_to_a_server_offer_connects(sfu: Sfu, peers) -> None:
    """Socket.IO style: the server offers, Firefox answers with candidates in its first
    m-line only and `a=end-of-candidates` in each."""
    client, subscriber, offer = await _server_offer_of_everything(sfu, peers)
    answer = _candidates_in_first_only(await client.answer_server_offer(offer))
    await subscriber.apply_answer(answer)
    assert _remote_host_candidates(subscriber) == _client_host_candidates(client)
    await wait_for(lambda: len(client.tracks) == 2 and client.video().frames > 3, 5, "frames at the subscriber")
