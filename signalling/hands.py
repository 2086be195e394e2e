"""Raised hands: who asked to speak, in the order they asked.

A participant in the call raises their hand (``raise_hand``) and lowers it
(``lower_hand``); a host may lower anyone's. The queue is first come, first
served: raising a hand that is already up keeps its place, lowering and raising
again goes to the end. A member who leaves the room leaves the queue (the live
room calls `HandQueue.lower`); one whose socket drops keeps their place while
they may come back.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["HandQueue"]


@dataclass(eq=False)
class HandQueue:
    """The raised hands of one live room, oldest first: participant id -> when it was raised."""

    _raised: OrderedDict[str, datetime] = field(default_factory=OrderedDict)

    def raise_hand(self, participant_id: str, at: datetime) -> bool:
        """Put *participant_id* at the end of the queue; False when their hand was up already (kept)."""
        if participant_id in self._raised:
            return False
        self._raised[participant_id] = at
        return True

    def lower(self, participant_id: str) -> bool:
        """Take *participant_id* out of the queue; False when their hand was not up."""
        return self._raised.pop(participant_id, None) is not None

    def raised_at(self, participant_id: str) -> datetime | None:
        """When *participant_id* raised their hand, or None when it is down."""
        return self._raised.get(participant_id)

    def order(self) -> list[str]:
        """The participant ids with a hand up, in the order they raised it."""
        return list(self._raised)

    def view(self) -> dict[str, list[str]]:
        """The ``hands`` event: ``{queue: [ids in order]}``."""
        return {"queue": self.order()}
