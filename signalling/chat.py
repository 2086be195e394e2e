"""A live room's chat: a bounded in-memory log of text messages, and each sender's rate.

Chat lasts as long as the live room (nothing is written to disk or the store): the
log keeps at most `MAX_KEPT` messages and `MAX_KEPT_CHARS` characters of text, the
oldest dropped first, so that the history a late joiner gets in ``welcome`` stays
small. A removed message (a host's ``chat_remove``) is gone from the log: its text
is no longer kept anywhere. `ChatRate` allows each participant `RATE_COUNT`
messages per `RATE_WINDOW` (a sliding window), so one person cannot flood the others.
Text is never logged by the server; ids are.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

__all__ = ["MAX_KEPT", "MAX_KEPT_CHARS", "RATE_COUNT", "RATE_WINDOW", "ChatLog", "ChatMessage", "ChatRate"]

#: Messages a room's log keeps at most (the oldest is dropped first).
MAX_KEPT = 500
#: Characters of text the log keeps at most, over all its messages (500 full messages would be 500,000).
MAX_KEPT_CHARS = 200_000
#: Messages one participant may send per `RATE_WINDOW`.
RATE_COUNT = 5
RATE_WINDOW = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One chat message: its id, who sent it (a participant id), its text and when the room got it."""

    id: str
    sender: str
    text: str
    at: datetime

    def view(self) -> dict[str, Any]:
        """The message as clients see it (``chat_message``, and each item of ``welcome.chat``)."""
        return {"id": self.id, "from": self.sender, "text": self.text, "at": self.at.isoformat()}


@dataclass(eq=False)
class ChatLog:
    """The messages of one live room, oldest first, bounded by count and by characters."""

    max_kept: int = MAX_KEPT
    max_chars: int = MAX_KEPT_CHARS
    _messages: OrderedDict[str, ChatMessage] = field(default_factory=OrderedDict)
    _chars: int = 0

    def add(self, sender: str, text: str, at: datetime) -> ChatMessage:
        """Keep a new message (dropping the oldest beyond the bounds) and return it."""
        message = ChatMessage(f"m-{secrets.token_hex(8)}", sender, text, at)
        self._messages[message.id] = message
        self._chars += len(text)
        while len(self._messages) > self.max_kept or (self._chars > self.max_chars and len(self._messages) > 1):
            _, oldest = self._messages.popitem(last=False)
            self._chars -= len(oldest.text)
        return message

    def remove(self, message_id: str) -> bool:
        """Forget a message and its text; False when no such message is kept."""
        message = self._messages.pop(message_id, None)
        if message is None:
            return False
        self._chars -= len(message.text)
        return True

    def history(self) -> list[dict[str, Any]]:
        """Every kept message as clients see it, oldest first."""
        return [m.view() for m in self._messages.values()]

    def __len__(self) -> int:
        return len(self._messages)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._messages


@dataclass(eq=False)
class ChatRate:
    """How often each participant has sent lately: `RATE_COUNT` messages per `RATE_WINDOW`."""

    count: int = RATE_COUNT
    window: timedelta = RATE_WINDOW
    _sent: dict[str, deque[datetime]] = field(default_factory=dict)

    def wait(self, sender: str, now: datetime) -> float:
        """Seconds *sender* must wait before their next message (0.0: they may send now)."""
        recent = [t for t in self._sent.get(sender, ()) if now - t < self.window]
        if len(recent) < self.count:
            return 0.0
        return max((recent[-self.count] + self.window - now).total_seconds(), 0.001)

    def spend(self, sender: str, now: datetime) -> None:
        """Count one message of *sender* at *now* (call after `wait` said 0); forget what is too old."""
        times = self._sent.setdefault(sender, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        times.append(now)

    def forget(self, sender: str) -> None:
        """Drop what is known of *sender* (they left the room)."""
        self._sent.pop(sender, None)
