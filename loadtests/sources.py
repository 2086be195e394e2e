"""Synthetic media sources for the load generator: moving stamped video and a tone.

`MovingTexture` draws 640x480 pictures a 1 Mbps encoder has to work for, with a bar
whose position tells the frame number and the capture time stamped in the top rows
(loadtests.frame_stamp); `ReplayTrack` feeds replaying encoders cheaply; `ToneTrack`
is a real-time 440 Hz tone for Opus.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time

import numpy as np
from aiortc import MediaStreamTrack, VideoStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from loadtests.encoders import REPLAY_CYCLE, replay_cycle_complete
from loadtests.frame_stamp import draw_stamp, stamp_now

__all__ = ["HEIGHT", "WIDTH", "MovingTexture", "ReplayTrack", "ToneTrack"]

WIDTH, HEIGHT = 640, 480


class MovingTexture(VideoStreamTrack):
    """640x480 at 30 fps, made in yuv420p directly: a scrolling blocky texture, a band of fresh
    noise (so a 1 Mbps CBR encoder has to spend its bits), a bright vertical bar whose
    position tells a decoded frame's number, and the capture time stamped in the top rows."""

    BAR = 16
    BAR_STEP = 8

    def __init__(self) -> None:
        super().__init__()
        self.frames = 0
        self._rng = np.random.default_rng(7)
        blocks = self._rng.integers(40, 110, size=(HEIGHT // 4, WIDTH // 2), dtype=np.uint8)
        texture = np.repeat(np.repeat(blocks, 4, axis=0), 4, axis=1)
        self._texture = np.concatenate([texture, texture], axis=1)
        self._chroma = np.full((HEIGHT // 2, WIDTH), 128, dtype=np.uint8)

    @classmethod
    def bar_position(cls, frame_number: int) -> int:
        return (frame_number * cls.BAR_STEP) % (WIDTH - cls.BAR)

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = self.draw(stamp_now())
        frame.pts = pts
        frame.time_base = time_base
        return frame

    def draw(self, stamp: int) -> VideoFrame:
        """The next picture (no pts), carrying `stamp` (see loadtests.frame_stamp)."""
        n = self.frames
        offset = (n * 7) % WIDTH
        luma = self._texture[:, offset : offset + WIDTH].copy()
        band = (n * 37) % (HEIGHT - 60)
        luma[band : band + 60] = self._rng.integers(40, 110, size=(60, WIDTH), dtype=np.uint8)
        x = self.bar_position(n)
        luma[:, x : x + self.BAR] = 250
        draw_stamp(luma, stamp)  # over the bar: the bar check skips the stamp rows
        self.frames += 1
        return VideoFrame.from_ndarray(np.concatenate([luma, self._chroma]), format="yuv420p")


class ToneTrack(MediaStreamTrack):
    """A 440 Hz tone in 20 ms frames at 48 kHz, paced in real time."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._start: float | None = None
        self._samples = 0

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._samples / 48000 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        t = (np.arange(960) + self._samples) / 48000
        pcm = (np.sin(2 * math.pi * 440 * t) * 8000).astype(np.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, 48000)
        self._samples += 960
        return frame


class ReplayTrack(VideoStreamTrack):
    """Moving frames until the process has its replay cycle of `codec`, then the last one
    again with a new pts.

    With a replaying encoder (loadtests.encoders) only the first cycle's pictures are
    encoded, once per process, so the rest need not be drawn: this keeps a hundred
    publishers cheap in one process. The replayed pictures carry stale capture stamps.
    """

    def __init__(self, codec: str = "vp8") -> None:
        super().__init__()
        self._codec = codec
        self._source = MovingTexture()
        self._last: VideoFrame | None = None
        self._count = 0

    async def recv(self) -> VideoFrame:
        self._count += 1
        if self._last is None or (self._count <= REPLAY_CYCLE and not replay_cycle_complete(self._codec)):
            self._last = await self._source.recv()  # paced at 30 fps
            return self._last
        pts, time_base = await self.next_timestamp()
        self._last.pts, self._last.time_base = pts, time_base
        return self._last
