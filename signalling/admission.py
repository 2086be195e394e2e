"""Admission control of a media worker: refuse new peer connections before resources run out.

A worker that runs out of file descriptors answers offers with SDP that has no
ICE candidates (a session that can never connect) and can no longer take the
room's own host. So every new peer connection is admitted here first: below a
cap of peers per worker and with a reserve of free descriptors. Refusal is a
`ServerBusy` (503 with ``Retry-After``, socket code ``server_busy``); the
sessions the worker carries are untouched.
"""

from __future__ import annotations

import logging
import os
import resource
import time

from signalling.errors import ServerBusy

__all__ = ["MAX_PEERS_PER_WORKER", "Admission", "open_descriptors"]

log = logging.getLogger(__name__)
#: Peer connections (publishers + subscribers) one worker takes: about one core's worth of streams.
MAX_PEERS_PER_WORKER = 2_000
#: Descriptors kept free for the worker's own needs (sockets of sessions being set up, logs, the link).
FD_RESERVE = 64


def open_descriptors() -> int:
    """How many file descriptors this process holds now."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0


class Admission:
    """Decide whether a worker may open one more peer connection."""

    def __init__(self, max_peers: int = MAX_PEERS_PER_WORKER, fd_reserve: int = FD_RESERVE) -> None:
        self.max_peers = max_peers
        self.fd_reserve = fd_reserve
        self.refused = 0
        self._last_log = 0.0

    def check(self, peers: int) -> None:
        """Raise ServerBusy if a new peer would pass a limit; *peers* is how many are open now."""
        if peers >= self.max_peers:
            self._refuse(f"this media worker carries its maximum of {self.max_peers} connections")
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and open_descriptors() + self.fd_reserve >= soft:
            self._refuse("this media worker is out of file descriptors")

    def _refuse(self, why: str) -> None:
        self.refused += 1
        now = time.monotonic()
        if now - self._last_log >= 5.0:  # one line per 5 s under a flood
            log.warning("admission refused: %s (refused so far: %s)", why, self.refused)
            self._last_log = now
        raise ServerBusy(f"{why}; try again later")
