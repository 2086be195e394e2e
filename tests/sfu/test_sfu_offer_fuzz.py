"""Bad offers and answers: always `InvalidOffer` / `InvalidAnswer`, and nothing left behind.

Property tests mutate real offers (an aiortc publisher's, an aiortc WHEP client's and a
Chromium-shaped one) line by line and byte by byte; every result must be an answer or
`InvalidOffer`, and after a failure the SFU's gauges are back where they were.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sdp_samples import CHROMIUM_OFFER
from sfu_peers import LOOPBACK, PublisherClient, SubscriberClient, client_pc, resources

from sfu import InvalidAnswer, InvalidOffer, NoCandidates, PublishedTrack, Sfu, SfuConfig
from sfu.aiortc_internals import configure_host_addresses
from sfu.sdp import check_answer, check_offer

FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


# --- mutations -------------------------------------------------------------------------

_ATTRIBUTE_VALUES = st.one_of(
    st.sampled_from(
        ["", " ", "0", "-1", "99999999999999999999", "actpass", "holdconn", "BUNDLE", "x y z", "a:b", "/", "::"]
    ),
    st.text(max_size=12),
)


@st.composite
def mutated(draw: st.DrawFn, offers: list[str]) -> str | bytes:
    """A real offer with a few lines deleted, duplicated, swapped or garbled, or random bytes."""
    lines = draw(st.sampled_from(offers)).split("\r\n")
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "value", "garble", "insert"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "value":
            head, sep, _ = lines[i].partition(":" if lines[i].startswith("a=") else " ")
            lines[i] = head + (sep or ":") + draw(_ATTRIBUTE_VALUES)
        elif op == "garble":
            line = lines[i]
            k = draw(st.integers(0, len(line)))
            lines[i] = line[:k] + draw(st.text(max_size=6)) + line[k + draw(st.integers(0, 4)) :]
        else:
            lines.insert(i, draw(st.text(max_size=30)))
    text = "\r\n".join(lines)
    if draw(st.integers(0, 9)) == 0:  # now and then, raw bytes: not UTF-8, NULs, anything
        raw = bytearray(text.encode("utf-8", "surrogatepass"))
        for _ in range(draw(st.integers(1, 3))):
            raw.insert(draw(st.integers(0, len(raw))), draw(st.integers(0, 255)))
        return bytes(raw)
    return text


@dataclass
class World:
    loop: asyncio.AbstractEventLoop
    sfu: Sfu
    tracks: list[PublishedTrack]
    publish_offers: list[str]
    whep_offers: list[str]
    client_answer: str


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One SFU with a publisher (whose tracks WHEP offers ask for), on a loop of its own."""
    loop = asyncio.new_event_loop()

    async def setup() -> tuple[World, list[object]]:
        sfu = Sfu(SfuConfig(addresses=LOOPBACK))
        pub_client = PublisherClient()
        aiortc_offer = await pub_client.offer()
        publisher = await sfu.create_publisher(aiortc_offer)
        whep = client_pc()
        whep.addTransceiver("audio", direction="recvonly")
        whep.addTransceiver("video", direction="recvonly")
        configure_host_addresses(whep, LOOPBACK)
        await whep.setLocalDescription(await whep.createOffer())
        # a real client answer to a server offer, for apply_answer
        subscriber = sfu.create_subscriber()
        subscriber.add_track(publisher.tracks[0])
        answerer = SubscriberClient()
        answer = await answerer.answer_server_offer(await subscriber.create_offer())
        await subscriber.close()
        w = World(
            loop=loop,
            sfu=sfu,
            tracks=list(publisher.tracks),
            publish_offers=[aiortc_offer, CHROMIUM_OFFER],
            whep_offers=[str(whep.localDescription.sdp), CHROMIUM_OFFER.replace("a=sendrecv", "a=recvonly")],
            client_answer=answer,
        )
        return w, [pub_client, whep, answerer]

    w, clients = loop.run_until_complete(setup())
    yield w

    async def teardown() -> None:
        for client in clients:
            await client.close()  # type: ignore[attr-defined]
        await w.sfu.close()

    loop.run_until_complete(teardown())
    loop.close()


def _mutations(offers: list[str]) -> st.SearchStrategy[str | bytes]:
    return mutated(offers)


@FUZZ
@given(data=st.data())
def test_mutated_publish_offers_are_answered_or_invalid(world: World, data: st.DataObject) -> None:
    offer = data.draw(_mutations(world.publish_offers))
    sfu = world.sfu
    before = (sfu.counters.publishers, sfu.counters.subscribers)

    async def run() -> None:
        try:
            publisher = await sfu.create_publisher(offer)  # type: ignore[arg-type]
        except InvalidOffer as exc:
            assert str(exc) and len(str(exc)) < 300
            event("refused")
        else:
            assert "a=candidate:" in publisher.answer
            event("answered")
            await publisher.close()

    world.loop.run_until_complete(run())
    assert (sfu.counters.publishers, sfu.counters.subscribers) == before
    assert len(sfu.publishers) == before[0] and not sfu.subscribers


@FUZZ
@given(data=st.data())
def test_mutated_whep_offers_are_answered_or_invalid(world: World, data: st.DataObject) -> None:
    offer = data.draw(_mutations(world.whep_offers))
    sfu = world.sfu
    before = (sfu.counters.publishers, sfu.counters.subscribers)

    async def run() -> None:
        subscriber = sfu.create_subscriber()
        try:
            answer = await subscriber.answer(offer, world.tracks)  # type: ignore[arg-type]
        except InvalidOffer as exc:
            assert str(exc) and len(str(exc)) < 300
            assert subscriber.closed, "a failed WHEP negotiation closes its subscriber"
            event("refused")
        else:
            assert "a=candidate:" in answer
            event("answered")
        await subscriber.close()

    world.loop.run_until_complete(run())
    assert (sfu.counters.publishers, sfu.counters.subscribers) == before
    assert all(t.subscriber_count == 0 for t in world.tracks)


@FUZZ
@given(data=st.data())
def test_mutated_answers_are_applied_or_invalid(world: World, data: st.DataObject) -> None:
    answer = data.draw(_mutations([world.client_answer]))
    sfu = world.sfu

    async def run() -> None:
        subscriber = sfu.create_subscriber()
        try:
            subscriber.add_track(world.tracks[0])
            await subscriber.create_offer()
            try:
                await subscriber.apply_answer(answer)  # type: ignore[arg-type]
            except InvalidAnswer as exc:
                assert str(exc) and len(str(exc)) < 300
                event("refused")
            else:
                event("applied")
        finally:
            await subscriber.close()

    world.loop.run_until_complete(run())
    assert sfu.counters.subscribers == 0


# --- the BUNDLE transport: candidates and end-of-candidates anywhere ---------------------

_TRANSPORT_LINES = ("a=candidate:", "a=ice-ufrag:", "a=ice-pwd:", "a=ice-options:", "a=fingerprint:", "a=setup:")


def _transport(section: str) -> tuple[str, ...]:
    lines = section.split("\r\n")
    return tuple(line for line in lines if line == "a=end-of-candidates" or line.startswith(_TRANSPORT_LINES))


@st.composite
def rebundled(draw: st.DrawFn, offers: list[str]) -> str:
    """A real offer whose m-lines each keep or lose their candidates and their
    `a=end-of-candidates` (Firefox, Chromium and the fuzz's shapes among them), with the
    BUNDLE group in any order and, now and then, every candidate renamed to mDNS."""
    head, *sections = draw(st.sampled_from(offers)).rstrip("\r\n").split("\r\nm=")
    out = []
    for section in sections:
        keep_candidates, keep_end = draw(st.booleans()), draw(st.booleans())
        lines = [
            line
            for line in section.split("\r\n")
            if (keep_candidates or not line.startswith("a=candidate:")) and (keep_end or line != "a=end-of-candidates")
        ]
        out.append("\r\n".join(lines))
    mids = [line.split(":", 1)[1] for section in out for line in section.split("\r\n") if line.startswith("a=mid:")]
    group = " ".join(draw(st.permutations(mids)))
    text = "\r\nm=".join([re.sub(r"a=group:BUNDLE [^\r]*", f"a=group:BUNDLE {group}", head), *out]) + "\r\n"
    if draw(st.integers(0, 4)) == 0:
        mdns = r"\1b0e0a8d2-9c1e-4f55-8f43-1c9e5e6f7a80.local "
        text = re.sub(r"^(a=candidate:\S+ \d+ \S+ \d+ )\S+ ", mdns, text, flags=re.MULTILINE)
    return text


@FUZZ
@given(data=st.data())
def test_candidates_anywhere_in_the_bundle_are_answered_with_candidates(world: World, data: st.DataObject) -> None:
    """However a valid offer spreads its candidates and end-of-candidates over its bundled
    m-lines, the SFU answers with its candidates (never NoCandidates), WHEP and WHIP alike."""
    whep = data.draw(rebundled(world.whep_offers[:1]))
    publish = data.draw(rebundled(world.publish_offers[:1]))
    sfu = world.sfu

    async def run() -> None:
        subscriber = sfu.create_subscriber()
        try:
            assert "a=candidate:" in await subscriber.answer(whep, world.tracks)
        finally:
            await subscriber.close()
        publisher = await sfu.create_publisher(publish)
        await publisher.close()
        assert "a=candidate:" in publisher.answer

    world.loop.run_until_complete(run())
    assert (sfu.counters.publishers, sfu.counters.subscribers) == (1, 0)


@settings(max_examples=300, deadline=None)
@given(offer=st.one_of(rebundled([CHROMIUM_OFFER]), mutated([CHROMIUM_OFFER])))
def test_every_m_line_gets_the_tagged_transport(offer: str | bytes) -> None:
    """After the check, every m-line carries the same transport lines, an end-of-candidates
    only beside a candidate, no candidate ICE cannot use, and aiortc sees no BUNDLE group."""
    try:
        checked = check_offer(offer)
    except InvalidOffer:
        return
    head, *sections = checked.sdp.rstrip("\r\n").split("\r\nm=")
    assert "a=group:BUNDLE" not in head
    transports = {_transport(s) for s in sections}
    assert len(transports) == 1, transports
    (transport,) = transports
    candidates = [line for line in transport if line.startswith("a=candidate:")]
    assert "a=end-of-candidates" not in transport or candidates
    assert all(" 1 udp " in line.lower() and ".local " not in line for line in candidates)


@settings(max_examples=1500, deadline=None)
@given(
    offer=st.one_of(
        st.text(),
        st.binary(),
        mutated([CHROMIUM_OFFER]),
        st.builds(lambda s: "v=0\r\n" + s, st.text()),
    )
)
def test_offer_check_raises_only_invalid_offer(offer: str | bytes) -> None:
    try:
        checked = check_offer(offer)
    except InvalidOffer as exc:
        assert str(exc) and len(str(exc)) < 300
    else:
        assert checked.sdp.startswith("v=0\r\n") and checked.kinds
    try:
        answer = check_answer(offer)
    except InvalidAnswer as exc:
        assert str(exc) and len(str(exc)) < 300
    else:
        assert answer.startswith("v=0\r\n")


def test_chromium_offer_is_normalised() -> None:
    checked = check_offer(CHROMIUM_OFFER)
    assert checked.kinds == ("audio", "video") and checked.actpass
    assert "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n" in checked.sdp
    assert ".local" not in checked.sdp and "127.0.0.1 9 typ host" in checked.sdp
    assert not checked.candidates_dropped


async def test_failed_negotiations_free_everything(peers) -> None:
    """Bad SDP, an unknown BUNDLE mid, an unsupported codec, an answer that cannot be made:
    publishers and WHEP subscribers alike leave no gauge, peer, socket, task or thread."""
    sfu = Sfu(SfuConfig(addresses=LOOPBACK))
    broken = Sfu(SfuConfig(addresses=("192.0.2.1",)))  # no candidate can be gathered: the answer fails
    pub_client = peers.publisher()
    good = await pub_client.offer()
    publisher = await sfu.create_publisher(good)
    tracks = list(publisher.tracks)
    pcmu_client = PublisherClient(video=False)
    transceiver = pcmu_client.pc.getTransceivers()[0]
    codecs = transceiver.sender.getCapabilities("audio").codecs
    transceiver.setCodecPreferences([c for c in codecs if "PCMU" in c.mimeType])
    unsupported = await pcmu_client.offer()
    whep = peers.subscriber()
    whep.pc.addTransceiver("video", direction="recvonly")
    configure_host_addresses(whep.pc, LOOPBACK)
    await whep.pc.setLocalDescription(await whep.pc.createOffer())
    whep_offer = str(whep.pc.localDescription.sdp)
    bad_offers = [
        "v=0\r\nnonsense\r\n",
        good.replace("a=rtcp-mux\r\n", ""),
        good.replace("a=group:BUNDLE 0 1", "a=group:BUNDLE 7 1"),
        good.replace("a=group:BUNDLE 0 1", "a=group:BUNDLE 0"),
        good.replace("a=setup:actpass", "a=setup:sideways"),
        whep_offer.replace("a=group:BUNDLE 0", "a=group:BUNDLE 1"),
        whep_offer.replace("m=video ", "m=text "),
        b"\xff\xfe v=0",
    ]
    baseline = resources()
    for _ in range(15):
        for offer in bad_offers:
            with pytest.raises(InvalidOffer):
                await sfu.create_publisher(offer)  # type: ignore[arg-type]
            with pytest.raises(InvalidOffer):
                await sfu.create_subscriber().answer(offer, tracks)  # type: ignore[arg-type]
        with pytest.raises(InvalidOffer, match="PCMU"):
            await sfu.create_publisher(unsupported)
        with pytest.raises(NoCandidates):
            await broken.create_publisher(good)
    await asyncio.sleep(0.3)
    after = resources()
    assert (sfu.counters.publishers, sfu.counters.subscribers) == (1, 0)
    assert list(sfu.publishers) == [publisher.id] and not sfu.subscribers
    assert (broken.counters.publishers, broken.counters.subscribers) == (0, 0)
    assert all(t.subscriber_count == 0 for t in tracks)
    assert after[0] <= baseline[0], f"asyncio tasks leaked: {baseline[0]} -> {after[0]}"
    assert after[1] <= baseline[1], f"threads leaked: {after[1] - baseline[1]}"
    assert after[2] <= baseline[2], f"file descriptors leaked: {baseline[2]} -> {after[2]}"
    await pcmu_client.close()
    await broken.close()
    await sfu.close()
