"""Process resources: raise the open-files limit so connections and peers are not refused early.

The front (one socket per HTTP or Socket.IO connection) and each media worker
(UDP sockets per peer) run out of file descriptors long before memory or CPU
under the common default soft limit of 1024. Both call this at start.
"""

from __future__ import annotations

import resource

__all__ = ["open_files_limit", "raise_open_files_limit"]


def open_files_limit() -> int:
    """Return the current soft limit on open files (``RLIMIT_NOFILE``)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def raise_open_files_limit() -> int:
    """Raise the soft open-files limit to the hard limit; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass  # e.g. a hard limit above the kernel's nr_open: keep the soft one
    return open_files_limit()
