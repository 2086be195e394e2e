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

    __slots__ = ("_first_in", "_highest_out", "_offset")

    def __init__(self) -> None:
        self._first_in: int | None = None
        self._highest_out: int | None = None
        self._offset = 0

    @property
    def started(self) -> bool:
        """True once the first packet fixed the mapping."""
        return self._first_in is not None

    def start(self, seq_in: int, seq_out: int | None = None) -> int:
        """Fix the mapping so that `seq_in` becomes `seq_out`; return it.

        By default `seq_out` is random for a new stream, or follows the highest number
        already sent after `rebase()`.
        """
        if seq_out is None and self._highest_out is not None:
            seq_out = (self._highest_out + 1) & 0xFFFF
        if seq_out is None:
            # Lower half of the range, like aiortc, to keep away from SRTP rollover issues.
            seq_out = random.randrange(0, 0x8000)
        self._first_in = seq_in
        self._offset = (seq_out - seq_in) & 0xFFFF
        self._highest_out = seq_out
        return seq_out

    def rebase(self) -> None:
        """Forget the mapping (the publisher's numbering restarted); the next `start()`
        continues right after the highest number sent, so the subscriber sees no gap."""
        self._first_in = None

    def rewrite(self, seq_in: int) -> int | None:
        """Return the subscriber's number for `seq_in`, or None if before the start."""
        first = self._first_in
        if first is None or seq_newer(first, seq_in):
            return None
        seq_out = (seq_in + self._offset) & 0xFFFF
        highest = self._highest_out
        if highest is None or seq_newer(seq_out, highest):
            self._highest_out = seq_out
        return seq_out
