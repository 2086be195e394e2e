"""The capture stamp on raw luma planes: round trip, wrap, and refusing what is not a stamp."""

from __future__ import annotations

import time

import numpy as np
import pytest

from loadtests.frame_stamp import STAMP_ROWS, age_ms, draw_stamp, read_stamp, stamp_height, stamp_now

MODULUS = 1 << 24


def _plane(fill: int = 90) -> np.ndarray:
    return np.full((480, 640), fill, dtype=np.uint8)


@pytest.mark.parametrize("value", [0, 1, 0x555555, 0xAAAAAA, 123_456, MODULUS - 1])
def test_round_trip_on_a_raw_plane(value: int) -> None:
    luma = np.random.default_rng(value).integers(40, 110, size=(480, 640), dtype=np.uint8)
    draw_stamp(luma, value)
    assert read_stamp(luma) == value


def test_values_are_taken_modulo_2_24() -> None:
    luma = _plane()
    draw_stamp(luma, MODULUS + 5)
    assert read_stamp(luma) == 5


def test_only_the_top_rows_are_drawn() -> None:
    luma = _plane()
    draw_stamp(luma, 42)
    assert stamp_height(480) == STAMP_ROWS
    assert (luma[STAMP_ROWS:] == 90).all()
    assert not (luma[:STAMP_ROWS] == 90).any()


def test_a_scaled_picture_still_reads() -> None:
    luma = _plane()
    draw_stamp(luma, 777_777)
    half = luma[::2, ::2]  # 320x240, as a decoder scaled down would give
    assert read_stamp(half) == 777_777


@pytest.mark.parametrize("fill", [0, 128, 255])
def test_a_plain_picture_has_no_stamp(fill: int) -> None:
    assert read_stamp(_plane(fill)) is None


def test_noise_has_no_stamp() -> None:
    noise = np.random.default_rng(1).integers(0, 256, size=(480, 640), dtype=np.uint8)
    assert read_stamp(noise) is None


def test_a_flipped_block_is_refused_not_misread() -> None:
    luma = _plane()
    draw_stamp(luma, 0x123456)
    for block in range(4, 36):  # every value and check block
        damaged = luma.copy()
        columns = slice(block * 16, block * 16 + 16)
        damaged[:STAMP_ROWS, columns] = 251 - damaged[:STAMP_ROWS, columns]  # 16 <-> 235
        assert read_stamp(damaged) is None, block


def test_an_unclear_block_is_refused() -> None:
    luma = _plane()
    draw_stamp(luma, 0x123456)
    luma[:STAMP_ROWS, 10 * 16 : 11 * 16] = 125  # halfway between black and white
    assert read_stamp(luma) is None


def test_bad_shapes_give_none() -> None:
    assert read_stamp(np.zeros((480, 100), dtype=np.uint8)) is None
    assert read_stamp(np.zeros((480, 640, 3), dtype=np.uint8)) is None
    with pytest.raises(ValueError):
        draw_stamp(np.zeros((480, 100), dtype=np.uint8), 1)


def test_age_handles_the_wrap() -> None:
    assert age_ms(1000, 1.5) == pytest.approx(500.0)
    assert age_ms(MODULUS - 10, MODULUS / 1000 + 0.005) == pytest.approx(15.0)  # now wrapped past 0
    assert age_ms(20, 0.010) == pytest.approx(-10.0)  # a stamp from the future stays negative


def test_stamp_now_is_fresh() -> None:
    stamp = stamp_now()
    assert 0 <= stamp < MODULUS
    assert 0 <= age_ms(stamp, time.monotonic()) < MODULUS / 2
