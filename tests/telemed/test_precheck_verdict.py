"""The pre-call check's verdict (telemed/precheck/verdict.py): the thresholds by example, and properties that
hold for any measurement (more bandwidth or less delay never makes it worse; advice explains every shortfall)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telemed.precheck.requests import MAX_KBPS, MAX_RTT_MS
from telemed.precheck.verdict import (
    AUDIO_MAX_RTT_MS,
    AUDIO_MIN_KBPS,
    VIDEO_MAX_RTT_MS,
    VIDEO_MIN_KBPS,
    Advice,
    Measurement,
    Verdict,
    judge,
)

GOOD = Measurement(camera=True, microphone=True, speaker=True, rtt_ms=40, upstream_kbps=5000)
RANK = {Verdict.NOT_WORKING: 0, Verdict.AUDIO_ONLY: 1, Verdict.VIDEO: 2}

measurements = st.builds(
    Measurement,
    camera=st.booleans(),
    microphone=st.booleans(),
    speaker=st.none() | st.booleans(),
    rtt_ms=st.none() | st.integers(0, MAX_RTT_MS),
    upstream_kbps=st.none() | st.integers(0, MAX_KBPS),
)


@pytest.mark.parametrize(("changes", "verdict", "advice"), [
    ({}, Verdict.VIDEO, ()),
    ({"speaker": None}, Verdict.VIDEO, ()),  # not answered: not held against the visit
    ({"upstream_kbps": VIDEO_MIN_KBPS, "rtt_ms": VIDEO_MAX_RTT_MS}, Verdict.VIDEO, ()),  # the bounds are in
    ({"upstream_kbps": VIDEO_MIN_KBPS - 1}, Verdict.AUDIO_ONLY, (Advice.SLOW_UPLOAD, Advice.AUDIO_ONLY)),
    ({"rtt_ms": VIDEO_MAX_RTT_MS + 1}, Verdict.AUDIO_ONLY, (Advice.HIGH_LATENCY, Advice.AUDIO_ONLY)),
    ({"upstream_kbps": AUDIO_MIN_KBPS, "rtt_ms": AUDIO_MAX_RTT_MS}, Verdict.AUDIO_ONLY,
     (Advice.SLOW_UPLOAD, Advice.HIGH_LATENCY, Advice.AUDIO_ONLY)),
    ({"upstream_kbps": AUDIO_MIN_KBPS - 1}, Verdict.NOT_WORKING, (Advice.SLOW_UPLOAD,)),
    ({"rtt_ms": AUDIO_MAX_RTT_MS + 1}, Verdict.NOT_WORKING, (Advice.HIGH_LATENCY,)),
    ({"rtt_ms": None}, Verdict.NOT_WORKING, (Advice.NO_CONNECTION,)),
    ({"upstream_kbps": None}, Verdict.NOT_WORKING, (Advice.NO_CONNECTION,)),
    ({"camera": False}, Verdict.AUDIO_ONLY, (Advice.CAMERA,)),
    ({"microphone": False}, Verdict.NOT_WORKING, (Advice.MICROPHONE,)),
    ({"speaker": False}, Verdict.NOT_WORKING, (Advice.SPEAKER,)),
    ({"camera": False, "upstream_kbps": 100}, Verdict.AUDIO_ONLY,
     (Advice.CAMERA, Advice.SLOW_UPLOAD, Advice.AUDIO_ONLY)),
    # Not working whatever the link: "use audio only" would be no help, so it is not said.
    ({"microphone": False, "upstream_kbps": 100}, Verdict.NOT_WORKING, (Advice.MICROPHONE, Advice.SLOW_UPLOAD)),
])
def test_thresholds(changes: dict[str, object], verdict: Verdict, advice: tuple[Advice, ...]) -> None:
    assert judge(replace(GOOD, **changes)) == (verdict, advice)  # type: ignore[arg-type]


@given(measurements, st.integers(0, MAX_KBPS), st.integers(0, MAX_RTT_MS))
def test_a_better_link_never_gives_a_worse_verdict(m: Measurement, more_kbps: int, less_rtt: int) -> None:
    better = replace(m, upstream_kbps=None if m.upstream_kbps is None else m.upstream_kbps + more_kbps,
                     rtt_ms=None if m.rtt_ms is None else max(0, m.rtt_ms - less_rtt))
    assert RANK[judge(better)[0]] >= RANK[judge(m)[0]]


@given(measurements)
def test_advice_explains_every_verdict_short_of_video(m: Measurement) -> None:
    verdict, advice = judge(m)
    assert len(set(advice)) == len(advice)
    assert (verdict is Verdict.VIDEO) == (advice == ())
    if verdict is Verdict.NOT_WORKING:
        assert Advice.AUDIO_ONLY not in advice
    if not m.microphone:
        assert verdict is Verdict.NOT_WORKING and Advice.MICROPHONE in advice
    if not m.camera:
        assert verdict is not Verdict.VIDEO and Advice.CAMERA in advice
