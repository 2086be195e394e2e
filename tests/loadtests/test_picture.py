"""Encoders, picture check and keyframe detection on the real aiortc VP8 and H.264 encoders
at 1 Mbps 640x480 (MovingTexture pictures, RTP numbering done here, no network)."""

from __future__ import annotations

import fractions
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from aiortc.codecs.base import Decoder
from aiortc.codecs.h264 import H264Decoder, h264_depayload
from aiortc.codecs.vpx import Vp8Decoder, vp8_depayload
from aiortc.jitterbuffer import JitterFrame
from av import VideoFrame

from loadtests.encoders import (
    CODECS,
    REPLAY_CYCLE,
    FixedBitrateH264Encoder,
    FixedBitrateVp8Encoder,
    ReplayH264Encoder,
    ReplayVp8Encoder,
    make_encoder,
    replay_cycle_complete,
)
from loadtests.frame_stamp import read_stamp, stamp_now
from loadtests.picture import Sample, check_picture, is_keyframe_start
from loadtests.sources import MovingTexture, ReplayTrack

BITRATE = 1_000_000
FRAMES = 24
TIME_BASE = fractions.Fraction(1, 90000)


@dataclass(frozen=True)
class Encoded:
    """One encoded frame: the stamp drawn into it, its RTP timestamp and payloads, and when the
    payloads were ready (the "arrival" of a loss-free zero-delay network)."""

    stamp: int
    timestamp: int
    payloads: list[bytes]
    ready: float


def _tools(codec: str) -> tuple[Callable[[bytes], bytes], Decoder]:
    return (vp8_depayload, Vp8Decoder()) if codec == "vp8" else (h264_depayload, H264Decoder())


def _encode(codec: str, frames: int, replay: bool = False) -> list[Encoded]:
    encoder = make_encoder(codec, BITRATE, replay)
    texture = MovingTexture()
    out = []
    for i in range(frames):
        frame = texture.draw(stamp_now())
        frame.pts, frame.time_base = i * 3000, TIME_BASE
        stamp = read_stamp(frame.to_ndarray(format="gray"))
        assert stamp is not None
        payloads, timestamp = encoder.encode(frame, i == 0)
        out.append(Encoded(stamp, timestamp, payloads, time.monotonic()))
    return out


def _sample(frames: list[Encoded], first_seq: int = 65_500) -> list[Sample]:
    """RTP packets in sending order; sequence numbers wrap past 65535 on purpose."""
    sample: list[Sample] = []
    seq = first_seq
    for frame in frames:
        for payload in frame.payloads:
            sample.append((seq & 0xFFFF, frame.timestamp, payload, frame.ready))
            seq += 1
    return sample


@pytest.fixture(scope="module", params=CODECS)
def stream(request: pytest.FixtureRequest) -> tuple[str, list[Encoded]]:
    codec = str(request.param)
    return codec, _encode(codec, FRAMES)


def test_every_stamp_survives_encoding(stream: tuple[str, list[Encoded]]) -> None:
    codec, frames = stream
    depayload, decoder = _tools(codec)
    stamps = {f.timestamp: f.stamp for f in frames}
    read: dict[int, int | None] = {}
    for f in frames:
        data = b"".join(depayload(p) for p in f.payloads)
        for picture in decoder.decode(JitterFrame(data=data, timestamp=f.timestamp)):
            assert isinstance(picture, VideoFrame) and picture.pts is not None
            assert (picture.width, picture.height) == (640, 480)
            read[picture.pts] = read_stamp(picture.to_ndarray(format="gray"))
    assert len(read) == FRAMES
    assert read == stamps


def test_check_picture_moves_and_measures_latency(stream: tuple[str, list[Encoded]]) -> None:
    codec, frames = stream
    sample = _sample(frames)
    check = check_picture(sample, codec)
    assert check.packets == len(sample)
    assert (check.frames_decoded, check.width, check.height) == (FRAMES, 640, 480)
    assert check.moving and check.distinct_bar_positions >= FRAMES // 2
    assert check.stamps_read == FRAMES == len(check.latencies_ms)
    assert all(latency >= 0 for latency in check.latencies_ms)
    assert 0 <= check.latency_p50_ms <= check.latency_p95_ms <= check.latency_max_ms


def test_check_picture_puts_reordered_packets_back(stream: tuple[str, list[Encoded]]) -> None:
    codec, frames = stream
    sample: list[Sample] = []
    rng = random.Random(3)
    for frame in _sample_by_frame(frames):
        rng.shuffle(frame)  # packets of one frame arrive out of order
        sample += frame
    check = check_picture(sample, codec)
    assert check.frames_decoded == FRAMES and check.stamps_read == FRAMES and check.moving


def _sample_by_frame(frames: list[Encoded]) -> list[list[Sample]]:
    by_frame: dict[int, list[Sample]] = {}
    for packet in _sample(frames):
        by_frame.setdefault(packet[1], []).append(packet)
    return list(by_frame.values())


def test_check_picture_skips_frames_before_the_keyframe(stream: tuple[str, list[Encoded]]) -> None:
    codec, frames = stream
    check = check_picture(_sample(frames[3:]), codec)  # joined late: only delta frames
    assert check.frames_decoded <= FRAMES - 3
    assert check.stamps_read <= check.frames_decoded


def test_keyframe_starts(stream: tuple[str, list[Encoded]]) -> None:
    codec, frames = stream
    key, delta = frames[0].payloads, frames[1].payloads
    assert is_keyframe_start(codec, key[0])
    assert not is_keyframe_start(codec, delta[0])
    assert not any(is_keyframe_start(codec, p) for f in frames[1:] for p in f.payloads)
    if codec == "vp8":
        assert not any(is_keyframe_start(codec, p) for p in key[1:])  # continuation packets
    else:  # SPS/PPS (STAP-A or alone), then IDR slices in FU-A fragments: each slice's first fragment counts
        fragments = [p for p in key if p[0] & 0x1F == 28]
        starts = [p for p in fragments if p[1] & 0x80]
        assert starts and all(is_keyframe_start(codec, p) for p in starts)
        assert len(starts) < len(fragments)
        assert not any(is_keyframe_start(codec, p) for p in fragments if not p[1] & 0x80)


@pytest.mark.parametrize("codec", CODECS)
def test_garbage_decodes_to_nothing(codec: str) -> None:
    rng = random.Random(5)
    sample: list[Sample] = [(i, 3000 * (i // 3), rng.randbytes(rng.randint(0, 1200)), 1.0) for i in range(60)]
    check = check_picture(sample, codec)
    assert (check.packets, check.frames_decoded, check.stamps_read, check.moving) == (60, 0, 0, False)
    assert check.latencies_ms == () and check.latency_p50_ms != check.latency_p50_ms  # NaN
    assert check_picture([], codec).frames_decoded == 0
    short = [b"", b"\x00", b"\x18", b"\x18\x00\x05", b"\x18\xff\xff\x07", b"\x1c", b"\x90", b"\x80\x80"]
    for payload in short + [payload for _, _, payload, _ in sample]:
        is_keyframe_start(codec, payload)  # an answer, never an exception


def test_unknown_codec() -> None:
    with pytest.raises(ValueError):
        make_encoder("av1", BITRATE, False)
    with pytest.raises(ValueError):
        check_picture([], "av1")
    with pytest.raises(ValueError):
        is_keyframe_start("av1", b"\x00")


def test_bitrate_is_pinned() -> None:
    for encoder in (FixedBitrateVp8Encoder(BITRATE), FixedBitrateH264Encoder(BITRATE)):
        encoder.target_bitrate = 100_000  # what aiortc does on REMB
        assert encoder.target_bitrate == BITRATE


@pytest.mark.parametrize("codec", CODECS)
def test_replay_repeats_one_decodable_cycle(codec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cls = ReplayVp8Encoder if codec == "vp8" else ReplayH264Encoder
    monkeypatch.setattr(cls, "_cache", [])
    frames = _encode(codec, 2 * REPLAY_CYCLE, replay=True)
    assert isinstance(make_encoder(codec, BITRATE, True), cls)
    assert len(cls._cache) == REPLAY_CYCLE
    assert [f.payloads for f in frames[REPLAY_CYCLE:]] == [f.payloads for f in frames[:REPLAY_CYCLE]]
    assert is_keyframe_start(codec, frames[REPLAY_CYCLE].payloads[0])
    check = check_picture(_sample(frames), codec)
    assert check.frames_decoded == 2 * REPLAY_CYCLE and check.moving
    # the second cycle shows the first one's pictures again: its stamps are stale
    assert check.stamps_read == 2 * REPLAY_CYCLE


def test_replay_caches_are_per_codec() -> None:
    assert ReplayVp8Encoder._cache is not ReplayH264Encoder._cache


@pytest.mark.parametrize("codec", CODECS)
async def test_replay_track_stops_drawing_once_the_cycle_is_encoded(codec: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cls = ReplayVp8Encoder if codec == "vp8" else ReplayH264Encoder
    monkeypatch.setattr(cls, "_cache", [])
    track = ReplayTrack(codec)
    drawn = await track.recv()
    assert not replay_cycle_complete(codec) and await track.recv() is not drawn  # still drawing
    monkeypatch.setattr(cls, "_cache", [[b"x"]] * REPLAY_CYCLE)
    assert replay_cycle_complete(codec)
    last = await track.recv()
    again = await track.recv()
    assert again is last and again.pts > 0  # the same picture, a new pts: nothing drawn
    with pytest.raises(ValueError):
        replay_cycle_complete("av1")
