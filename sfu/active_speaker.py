"""Active speaker detection from RFC 6464 audio levels carried in RTP header extensions.

Levels are smoothed per source (exponential moving average of loudness), and the
speaker changes only when another source has been louder by a margin for a while,
so that coughs and crosstalk do not make the layout flicker. No task: the decision
is made as levels arrive.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .events import Event
from .media import MediaKind
from .track import PublishedTrack

__all__ = ["ActiveSpeakerDetector", "SpeakerLevel"]

_SILENCE = 127


@dataclass(slots=True)
class SpeakerLevel:
    """Smoothed loudness of one source (0 = silence .. 127 = loudest)."""

    loudness: float = 0.0
    last_seen: float = 0.0
    louder_since: float | None = None


class ActiveSpeakerDetector:
    """Compute the current loudest speaker and emit `on_change` when it changes.

    `observe(source_id, level)` takes RFC 6464 levels (0 = 0 dBov, loudest; 127 = silence).
    A source becomes the speaker when its smoothed loudness exceeds `min_loudness` and the
    current speaker's by `margin` for `hold` seconds. A source silent or unheard for
    `timeout` seconds stops being the speaker (`on_change` emits None if nobody speaks).
    """

    def __init__(
        self,
        *,
        smoothing: float = 0.2,
        min_loudness: float = 30.0,
        margin: float = 3.0,
        hold: float = 0.3,
        timeout: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < smoothing <= 1:
            raise ValueError("smoothing must be in (0, 1]")
        self._smoothing = smoothing
        self._min_loudness = min_loudness
        self._margin = margin
        self._hold = hold
        self._timeout = timeout
        self._clock = clock
        self._levels: dict[str, SpeakerLevel] = {}
        self._speaker: str | None = None
        self.on_change: Event[str | None] = Event("active_speaker.change")

    @property
    def speaker(self) -> str | None:
        """Id of the current active speaker, or None."""
        return self._speaker

    def loudness(self, source_id: str) -> float:
        """Smoothed loudness of `source_id` (0 if unknown)."""
        level = self._levels.get(source_id)
        return level.loudness if level else 0.0

    def observe(self, source_id: str, level: int) -> None:
        """Feed one RFC 6464 audio level of `source_id`."""
        now = self._clock()
        loudness = float(_SILENCE - min(max(level, 0), _SILENCE))
        state = self._levels.get(source_id)
        if state is None:
            state = self._levels[source_id] = SpeakerLevel(loudness=loudness, last_seen=now)
        else:
            state.loudness += self._smoothing * (loudness - state.loudness)
            state.last_seen = now
        self._decide(source_id, state, now)

    def watch(self, track: PublishedTrack) -> Callable[[], None]:
        """Feed the audio levels of `track` under its publisher's id; return an unwatch function.

        When the track ends, its publisher is removed from the detector.
        """
        if track.kind is not MediaKind.AUDIO:
            raise ValueError(f"track {track.id} is not audio")
        source_id = track.publisher_id

        def on_level(level: int) -> None:
            self.observe(source_id, level)

        def on_ended(_: PublishedTrack) -> None:
            self.remove(source_id)

        disconnects = [track.on_audio_level.connect(on_level), track.on_ended.connect(on_ended)]

        def unwatch() -> None:
            for disconnect in disconnects:
                disconnect()

        return unwatch

    def remove(self, source_id: str) -> None:
        """Forget `source_id` (its publisher left); elects nobody until others speak."""
        self._levels.pop(source_id, None)
        if self._speaker == source_id:
            self._set_speaker(None)

    def _decide(self, source_id: str, state: SpeakerLevel, now: float) -> None:
        current = self._levels.get(self._speaker) if self._speaker is not None else None
        if current is not None and (
            now - current.last_seen > self._timeout or current.loudness < self._min_loudness / 2
        ):
            self._set_speaker(None)
            current = None
        if source_id == self._speaker:
            return
        threshold = self._min_loudness
        if current is not None:
            threshold = max(threshold, current.loudness + self._margin)
        if state.loudness < threshold:
            state.louder_since = None
            return
        if state.louder_since is None:
            state.louder_since = now
        if current is None or now - state.louder_since >= self._hold:
            state.louder_since = None
            self._set_speaker(source_id)

    def _set_speaker(self, source_id: str | None) -> None:
        if source_id != self._speaker:
            self._speaker = source_id
            self.on_change.emit(source_id)
