"""A tiny typed event: the SFU tells its owner about tracks, closes and speakers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Event"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Event(Generic[T]):
    """Synchronous callbacks with one argument; a failing callback is logged, not raised.

    Callbacks run inside the media path, so they must be quick and must not block;
    schedule coroutines yourself if you need to await.
    """

    __slots__ = ("_callbacks", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._callbacks: list[Callable[[T], None]] = []

    def connect(self, callback: Callable[[T], None]) -> Callable[[], None]:
        """Register `callback`; return a function that unregisters it."""
        self._callbacks.append(callback)

        def disconnect() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return disconnect

    def emit(self, value: T) -> None:
        """Call every registered callback with `value`."""
        for callback in tuple(self._callbacks):
            try:
                callback(value)
            except Exception:
                logger.exception("callback of event %s failed", self._name)

    def clear(self) -> None:
        """Drop every callback (used on close so nothing keeps objects alive)."""
        self._callbacks.clear()

    def __len__(self) -> int:
        return len(self._callbacks)
