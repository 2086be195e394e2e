"""Per-subscriber RTP sequence numbers: contiguous from the subscriber's first packet."""

from __future__ import annotations

import random

__all__ = ["SequenceRewriter", "seq_newer"]


def seq_newer(a: int, b: int) -> bool:
    """Return True if 16-bit sequence number `a` is newer than `b` (RFC 3550 wrap-around)."""
    return a != b and ((a - b) & 0xFFFF) < 0x8000


class SequenceRewriter:
    """Map the publisher's sequence numbers onto a subscriber's.

    The first forwarded packet gets the subscriber's initial number and later ones keep
    the publisher's spacing (offset mapping). So the subscriber sees no gap where it
    joined mid-stream, but does see real losses, NACKs them, and a repaired packet
    takes the number of the one it replaces. Packets older than the first one are
    refused (None).
    """

    __slots__ = ("_first_in", "_offset")

    def __init__(self) -> None:
        self._first_in: int | None = None
        self._offset = 0

    @property
    def started(self) -> bool:
        """True once the first packet fixed the mapping."""
        return self._first_in is not None

    def start(self, seq_in: int, seq_out: int | None = None) -> int:
        """Fix the mapping so that `seq_in` becomes `seq_out` (random by default); return it."""
        if seq_out is None:
            # Lower half of the range, like aiortc, to keep away from SRTP rollover issues.
            seq_out = random.randrange(0, 0x8000)
        self._first_in = seq_in
        self._offset = (seq_out - seq_in) & 0xFFFF
        return seq_out

    def rewrite(self, seq_in: int) -> int | None:
        """Return the subscriber's number for `seq_in`, or None if before the start."""
        first = self._first_in
        if first is None or seq_newer(first, seq_in):
            return None
        return (seq_in + self._offset) & 0xFFFF
