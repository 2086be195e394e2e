"""Who is connected to which room right now, and what they publish.

Signalling reports joins, leaves and publishing changes here; the REST API
reads it for ``GET /rooms/{id}/live``. The local implementation is per process;
a Redis one will share it between nodes behind the same interface.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

__all__ = ["LiveParticipant", "LivePresence", "LocalPresence"]


@dataclass(frozen=True, slots=True)
class LiveParticipant:
    participant_id: str
    connected_at: datetime
    publishing: frozenset[str] = field(default=frozenset())


class LivePresence(Protocol):
    async def joined(self, room_id: str, participant_id: str, at: datetime) -> None: ...

    async def publishing(self, room_id: str, participant_id: str, kinds: frozenset[str]) -> None:
        ...

    async def left(self, room_id: str, participant_id: str) -> None: ...

    async def live(self, room_id: str) -> list[LiveParticipant]: ...

    async def counts(self) -> tuple[int, int]:
        """Return (rooms with anyone connected, connected participants)."""


class LocalPresence:
    """In-process presence for single-node mode."""

    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, LiveParticipant]] = {}

    async def joined(self, room_id: str, participant_id: str, at: datetime) -> None:
        self._rooms.setdefault(room_id, {})[participant_id] = LiveParticipant(participant_id, at)

    async def publishing(self, room_id: str, participant_id: str, kinds: frozenset[str]) -> None:
        people = self._rooms.get(room_id, {})
        if participant_id in people:
            people[participant_id] = replace(people[participant_id], publishing=kinds)

    async def left(self, room_id: str, participant_id: str) -> None:
        people = self._rooms.get(room_id)
        if people is not None:
            people.pop(participant_id, None)
            if not people:
                del self._rooms[room_id]

    async def live(self, room_id: str) -> list[LiveParticipant]:
        return sorted(self._rooms.get(room_id, {}).values(), key=lambda p: p.connected_at)

    async def counts(self) -> tuple[int, int]:
        return len(self._rooms), sum(len(p) for p in self._rooms.values())
