"""A capture-time stamp drawn into synthetic video frames, read back after decoding.

The stamp is `time.monotonic()` in milliseconds modulo 2**24 (wraps every ~4.7 h),
drawn across the top STAMP_ROWS rows of the luma plane as 40 blocks of 16x32 px
(two macroblock rows, on the 16 px macroblock grid, so VP8 and H.264 code each block
as flat macroblocks even at low bitrates):

    start 1011 | 24 value bits (MSB first) | CRC-8 of the value | stop 1101

White is luma 235 and black 16. Reading thresholds each block's mean (centre only)
halfway between the start/stop pattern's white and black blocks, and returns None
unless the contrast is clear, no block is ambiguous, the patterns match and the
CRC checks, so a misread (or no stamp at all) gives None rather than a wrong time.
The monotonic clock is system-wide on Linux: a stamp drawn in one process can be
aged in another on the same machine.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["STAMP_ROWS", "age_ms", "draw_stamp", "read_stamp", "stamp_height", "stamp_now"]

MODULUS = 1 << 24
STAMP_ROWS = 32  # of a 480-row picture
BLOCKS = 40
START = (1, 0, 1, 1)
STOP = (1, 1, 0, 1)
VALUE_BITS = 24
CRC_BITS = 8
WHITE, BLACK = 235, 16
MIN_CONTRAST = 80.0  # white minus black block means, on the decoded picture
_REFERENCE_HEIGHT = 480


def stamp_now() -> int:
    """Milliseconds of `time.monotonic()`, modulo 2**24: the value to draw now."""
    return int(time.monotonic() * 1000) % MODULUS


def age_ms(stamp: int, now: float) -> float:
    """Milliseconds from `stamp` to `now` (seconds of `time.monotonic()`), across the 2**24 wrap.

    Differences of more than half the modulus are taken as negative (a stamp from the future)."""
    delta = (now * 1000 - stamp) % MODULUS
    return delta - MODULUS if delta >= MODULUS / 2 else delta


def stamp_height(height: int) -> int:
    """Rows the stamp covers in a picture `height` rows high (the bar check skips them)."""
    return max(1, round(height * STAMP_ROWS / _REFERENCE_HEIGHT))


def _crc8(value: int) -> int:
    """CRC-8 (polynomial 0x07) of the value's 3 bytes."""
    crc = 0
    for byte in value.to_bytes(3, "big"):
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _bits(value: int) -> list[int]:
    data = [(value >> (VALUE_BITS - 1 - i)) & 1 for i in range(VALUE_BITS)]
    crc = _crc8(value)
    check = [(crc >> (CRC_BITS - 1 - i)) & 1 for i in range(CRC_BITS)]
    return [*START, *data, *check, *STOP]


def _edges(width: int) -> np.ndarray:
    return np.linspace(0, width, BLOCKS + 1).round().astype(int)


def draw_stamp(luma: np.ndarray, value: int) -> None:
    """Draw `value` (taken modulo 2**24) into the top rows of a luma plane, in place."""
    height, width = luma.shape
    if width < BLOCKS * 4:
        raise ValueError(f"a {width} px wide picture is too narrow for the stamp")
    rows = stamp_height(height)
    edges = _edges(width)
    for i, bit in enumerate(_bits(value % MODULUS)):
        luma[:rows, edges[i] : edges[i + 1]] = WHITE if bit else BLACK


def read_stamp(gray: np.ndarray) -> int | None:
    """The stamp in a decoded grayscale (or luma) picture, or None if there is none or it is unclear."""
    if gray.ndim != 2 or gray.shape[1] < BLOCKS * 4:
        return None
    height, width = gray.shape
    rows = stamp_height(height)
    edges = _edges(width)
    margin_x = max(1, (edges[1] - edges[0]) // 4)
    margin_y = max(0, rows // 8)
    band = gray[margin_y : rows - margin_y].astype(np.float32)
    means = np.array([band[:, edges[i] + margin_x : edges[i + 1] - margin_x].mean() for i in range(BLOCKS)])
    pattern = np.array([*START, *STOP])
    pattern_means = np.concatenate([means[: len(START)], means[-len(STOP) :]])
    white, black = pattern_means[pattern == 1].mean(), pattern_means[pattern == 0].mean()
    contrast = float(white - black)
    if contrast < MIN_CONTRAST:
        return None
    threshold = (white + black) / 2
    if np.any(np.abs(means - threshold) < contrast / 4):  # a block too close to call
        return None
    bits = [int(m > threshold) for m in means]
    if tuple(bits[: len(START)]) != START or tuple(bits[-len(STOP) :]) != STOP:
        return None
    payload = bits[len(START) : -len(STOP)]
    value = int("".join(map(str, payload[:VALUE_BITS])), 2)
    crc = int("".join(map(str, payload[VALUE_BITS:])), 2)
    return value if crc == _crc8(value) else None
