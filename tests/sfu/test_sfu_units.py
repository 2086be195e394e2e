"""Unit tests of the SFU's pure parts: keyframe detection, sequence numbers, rate limit,
active speaker, codec matching, configuration, events, a paused track."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.rtp import RtpPacket

from sfu import ActiveSpeakerDetector, Codec, Event, MediaKind, PublishedTrack, SfuConfig
from sfu.aiortc_internals import NegotiatedCodec
from sfu.forwarder import pick_payload_type
from sfu.keyframe_requester import KeyframeRequester
from sfu.keyframes import h264_is_keyframe_start, is_keyframe_start, vp8_is_keyframe_start
from sfu.sequence import SequenceRewriter, seq_newer
from sfu.stats import SfuCounters

# --- VP8 (RFC 7741) --------------------------------------------------------------------


def vp8(descriptor: bytes, first_payload_byte: int) -> bytes:
    return descriptor + bytes([first_payload_byte]) + b"\x00" * 8


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (vp8(b"\x10", 0x00), True),  # S=1, PID=0, P=0: keyframe start
        (vp8(b"\x10", 0x01), False),  # P=1: interframe
        (vp8(b"\x00", 0x00), False),  # not the start of a partition
        (vp8(b"\x11", 0x00), False),  # partition 1
        (vp8(b"\x90\x80\x05", 0x00), True),  # X, I, 7-bit picture id
        (vp8(b"\x90\x80\x85\x01", 0x00), True),  # 15-bit picture id
        (vp8(b"\x90\x80\x85\x01", 0x01), False),
        (vp8(b"\x90\xe0\x85\x01\x07\x20", 0x00), True),  # I, L, T: TL0PICIDX and TID bytes
        (vp8(b"\x90\xe0\x85\x01\x07\x20", 0x01), False),
        (b"", False),
        (b"\x90", False),
    ],
)
def test_vp8_keyframe_detection(payload: bytes, expected: bool) -> None:
    assert vp8_is_keyframe_start(payload) is expected


# --- H.264 (RFC 6184) ----------------------------------------------------------------------


def nal(nal_type: int, size: int = 6) -> bytes:
    return bytes([0x60 | nal_type]) + b"\x11" * (size - 1)


def stap_a(*nals: bytes) -> bytes:
    out = bytes([0x78])  # F=0, NRI=3, type 24
    for unit in nals:
        out += len(unit).to_bytes(2, "big") + unit
    return out


def fu_a(nal_type: int, start: bool) -> bytes:
    return bytes([0x7C, (0x80 if start else 0) | nal_type]) + b"\x22" * 10


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (nal(5), True),  # IDR slice
        (nal(7), True),  # SPS
        (nal(1), False),  # non-IDR slice
        (nal(8), False),  # PPS alone
        (stap_a(nal(7), nal(8), nal(5)), True),
        (stap_a(nal(8), nal(6)), False),
        (stap_a(nal(6), nal(5)), True),
        (fu_a(5, start=True), True),
        (fu_a(5, start=False), False),
        (fu_a(1, start=True), False),
        (stap_a(nal(1))[:-2], False),  # truncated aggregate
        (b"", False),
    ],
)
def test_h264_keyframe_detection(payload: bytes, expected: bool) -> None:
    assert h264_is_keyframe_start(payload) is expected


def test_audio_never_waits_for_a_keyframe() -> None:
    assert is_keyframe_start(Codec.OPUS, b"\x01\x02")
    assert not is_keyframe_start(Codec.VP8, vp8(b"\x10", 0x01))


# --- sequence numbers ----------------------------------------------------------------------


def test_sequence_rewriter_starts_contiguous_and_keeps_gaps() -> None:
    rewriter = SequenceRewriter()
    assert rewriter.rewrite(100) is None and not rewriter.started
    assert rewriter.start(65530, 1000) == 1000
    assert [rewriter.rewrite(s) for s in (65531, 65535, 0, 3)] == [1001, 1005, 1006, 1009]
    assert rewriter.rewrite(65529) is None, "packets before the start must be refused"
    assert rewriter.rewrite(65530) == 1000


def test_sequence_rewriter_random_start_in_lower_half() -> None:
    assert all(0 <= SequenceRewriter().start(5) < 0x8000 for _ in range(50))


def test_seq_newer_wraps() -> None:
    assert seq_newer(1, 65535) and not seq_newer(65535, 1) and not seq_newer(7, 7)


# --- keyframe request rate limit -------------------------------------------------------------


async def test_keyframe_requester_coalesces_and_delays() -> None:
    sent: list[float] = []
    loop = asyncio.get_running_loop()

    async def send() -> bool:
        sent.append(loop.time())
        return True

    requester = KeyframeRequester(send, interval=0.2)
    for _ in range(5):
        requester.request()
    await asyncio.sleep(0.05)
    assert len(sent) == 1 and requester.pending
    await asyncio.sleep(0.25)
    assert len(sent) == 2 and not requester.pending
    assert sent[1] - sent[0] >= 0.19
    requester.request()
    await requester.close()
    assert len(sent) == 2, "close() must cancel a pending request"
    requester.request()
    await asyncio.sleep(0.01)
    assert len(sent) == 2 and requester.sent == 2


async def test_keyframe_requester_retries_when_nothing_to_send_to() -> None:
    ready = False
    calls = 0

    async def send() -> bool:
        nonlocal calls
        calls += 1
        return ready

    requester = KeyframeRequester(send, interval=10)
    requester.request()
    await asyncio.sleep(0)
    ready = True
    requester.request()  # not rate-limited: the first one could not be sent
    await asyncio.sleep(0)
    assert calls == 2 and requester.sent == 1
    await requester.close()


# --- active speaker -----------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_active_speaker_switches_only_after_hold_and_margin() -> None:
    clock = FakeClock()
    detector = ActiveSpeakerDetector(smoothing=0.5, hold=0.3, clock=clock)
    changes: list[str | None] = []
    detector.on_change.connect(changes.append)

    def talk(levels: dict[str, int], seconds: float) -> None:
        for _ in range(int(seconds / 0.02)):
            clock.now += 0.02
            for source, level in levels.items():
                detector.observe(source, level)

    talk({"alice": 20, "bob": 127}, 0.2)  # alice loud, bob silent
    assert changes == ["alice"]
    talk({"alice": 20, "bob": 18}, 1.0)  # bob barely louder: below the margin
    assert detector.speaker == "alice"
    talk({"alice": 60, "bob": 15}, 0.1)  # short burst: not held long enough
    assert detector.speaker == "alice"
    talk({"alice": 90, "bob": 15}, 0.6)
    assert detector.speaker == "bob" and changes == ["alice", "bob"]
    talk({"alice": 127, "bob": 127}, 1.0)  # both silent
    assert detector.speaker is None and changes[-1] is None
    detector.observe("carol", 0)
    assert detector.speaker == "carol"
    detector.remove("carol")
    assert detector.speaker is None


def test_active_speaker_times_out_unheard_speaker() -> None:
    clock = FakeClock()
    detector = ActiveSpeakerDetector(timeout=1.0, clock=clock)
    detector.observe("alice", 10)
    assert detector.speaker == "alice"
    clock.now = 2.0
    detector.observe("bob", 127)
    assert detector.speaker is None


# --- codecs, config, events ------------------------------------------------------------------


def test_pick_payload_type_maps_same_codec() -> None:
    source = NegotiatedCodec("video/H264", 90000, 102, {"packetization-mode": "1", "profile-level-id": "42e01f"})
    offered = [
        NegotiatedCodec("video/VP8", 90000, 96),
        NegotiatedCodec("video/H264", 90000, 100, {"packetization-mode": "0", "profile-level-id": "42e01f"}),
        NegotiatedCodec("video/H264", 90000, 104, {"packetization-mode": "1", "profile-level-id": "42E01F"}),
    ]
    assert pick_payload_type(source, offered) == 104
    assert pick_payload_type(NegotiatedCodec("video/vp8", 90000, 120), offered) == 96
    assert pick_payload_type(NegotiatedCodec("audio/opus", 48000, 111), offered) is None


def test_codec_from_mime_type() -> None:
    assert Codec.from_mime_type("VIDEO/vp8") is Codec.VP8
    assert Codec.from_mime_type("audio/PCMU") is None
    assert Codec.OPUS.kind.value == "audio"


def test_config_validates() -> None:
    assert SfuConfig(addresses=("127.0.0.1", "::1")).addresses == ("127.0.0.1", "::1")
    with pytest.raises(ValueError, match="addresses"):
        SfuConfig(addresses=("localhost",))
    with pytest.raises(ValueError, match="ice_servers"):
        SfuConfig(ice_servers=("stun.example.org",))
    with pytest.raises(ValueError, match="keyframe_interval"):
        SfuConfig(keyframe_interval=-1)


def test_event_isolates_failing_callbacks() -> None:
    event: Event[int] = Event("test")
    got: list[int] = []

    def boom(_: int) -> None:
        raise RuntimeError("boom")

    event.connect(boom)
    disconnect = event.connect(got.append)
    event.emit(1)
    disconnect()
    event.emit(2)
    assert got == [1] and len(event) == 1


def test_sequence_rewriter_rebase_continues_without_gap() -> None:
    rewriter = SequenceRewriter()
    rewriter.start(500, 65534)
    assert [rewriter.rewrite(s) for s in (501, 503, 502)] == [65535, 1, 0]
    rewriter.rebase()
    assert rewriter.rewrite(504) is None
    assert rewriter.start(9000) == 2, "restart must continue after the highest number sent"
    assert rewriter.rewrite(9001) == 3


class RecordingSink:
    """A `PacketSink` that records what the track does to it."""

    def __init__(self) -> None:
        self.forwarded: list[int] = []
        self.restarts = 0

    @property
    def wants_keyframe(self) -> bool:
        return False

    def forward(self, packet: Any, keyframe_start: bool) -> None:
        self.forwarded.append(packet.sequence_number)

    def set_sender_report_clock(self, ntp_timestamp: int, rtp_timestamp: int) -> None:
        pass

    def source_restarted(self) -> None:
        self.restarts += 1

    def source_ended(self) -> None:
        pass


@pytest.mark.parametrize("codec", [Codec.VP8, Codec.OPUS])
async def test_a_paused_track_counts_but_forwards_nothing_and_resumes_at_a_keyframe(codec: Codec) -> None:
    """A host's mute at the SFU: packets are received and counted, none reach a sink; on resume the sinks
    restart (no sequence gap, from a keyframe) and a video track asks its publisher for one."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    receiver = pc.addTransceiver(codec.kind.value).receiver
    counters = SfuCounters()
    track = PublishedTrack(track_id="p:0", publisher_id="p", codec=codec,
                           negotiated=NegotiatedCodec(codec.value, 90000, 96), receiver=receiver,
                           keyframe_interval=0.05, counters=counters)
    levels: list[int] = []
    track.on_audio_level.connect(levels.append)
    sink = RecordingSink()
    track.attach(sink)

    def packet(seq: int) -> RtpPacket:
        out = RtpPacket(payload_type=96, sequence_number=seq, ssrc=1234, payload=b"\x10\x00\x00\x9d\x01\x2a")
        out.extensions.audio_level = (True, 30)
        return out

    try:
        await track.handle_rtp(packet(1), False)
        assert sink.forwarded == [1] and not track.paused
        track.paused = True
        for seq in range(2, 12):
            await track.handle_rtp(packet(seq), False)
        assert sink.forwarded == [1], "a paused track forwards nothing"
        assert track.stats.packets_received == 11 and counters.packets_received == 11, "but counts it"
        assert len(levels) == (1 if codec is Codec.OPUS else 0), "a muted voice is not a speaker"
        requests = track.stats.keyframe_requests_received
        track.paused = True  # no change: nothing happens
        assert sink.restarts == 0
        track.paused = False
        assert sink.restarts == 1
        expected = 1 if codec.kind is MediaKind.VIDEO else 0
        assert track.stats.keyframe_requests_received == requests + expected
        await track.handle_rtp(packet(12), False)
        assert sink.forwarded == [1, 12]
    finally:
        await track.end()
        await pc.close()
