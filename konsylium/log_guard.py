"""Log guards: nothing a client sends reaches the log, and clients cannot flood it.

aiohttp logs a request it cannot parse with the raw request line or header and
a traceback; Engine.IO and Socket.IO log a garbage packet with a traceback and
sometimes the session id the client sent; asyncio logs every failed
``accept()`` when the process is out of file descriptors. These filters sit on
those loggers and turn each such record into one short line that names only
the kind of error, the exception class and the peer address, at most
``CLIENT_LINES_PER_SECOND`` per second (then one line counting what was
dropped), and at most one accept-error line per ``ACCEPT_ERROR_EVERY`` seconds.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

__all__ = [
    "ACCEPT_ERROR_EVERY",
    "CLIENT_LINES_PER_SECOND",
    "AcceptErrorFilter",
    "ClientErrorFilter",
    "install_log_guards",
]

CLIENT_LINES_PER_SECOND = 10
ACCEPT_ERROR_EVERY = 10.0
CLIENT_LOGGERS = ("aiohttp.server", "aiohttp.web", "aiohttp.websocket", "engineio.server", "socketio.server")
# What these libraries log about a client, by the constant start of their message.
KINDS = (
    "Error handling request",
    "Unhandled exception",
    "Invalid session",
    "Invalid transport",
    "Invalid websocket upgrade",
    "Invalid JSONP index",
    "Invalid async_mode",
    "Method",
    "Cannot send to sid",
    "Application rejected connection",
    "Unknown receive error",
    "post request handler error",
    "message async handler error",
    "connect async handler error",
    "disconnect async handler error",
    "message handler error",
    "service task exception",
    "Unexpected error",
)
_PEER = re.compile(r"^[0-9A-Fa-f.:\[\]]{2,45}$")
ACCEPT_MESSAGE = "socket.accept() out of system resource"


def _kind(message: object) -> str:
    text = message if isinstance(message, str) else ""
    for kind in KINDS:
        if text.startswith(kind):
            return kind
    return "client protocol error"


def _peer(args: object) -> str:
    """The peer address aiohttp passes as the first argument, if it looks like one."""
    if isinstance(args, tuple) and args and isinstance(args[0], str) and _PEER.match(args[0]):
        return args[0]
    return "-"


class _Budget:
    """At most *rate* lines per second; counts what it refuses."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = burst
        self.at = clock()
        self.dropped = 0

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.dropped += 1
        return False

    def dropped_note(self) -> str:
        if not self.dropped:
            return ""
        note = f" ({self.dropped} similar lines dropped)"
        self.dropped = 0
        return note


def _rewrite(record: logging.LogRecord, message: str) -> None:
    record.msg = message
    record.args = None
    record.exc_info = None
    record.exc_text = None
    record.stack_info = None


class ClientErrorFilter(logging.Filter):
    """One short line per client error, no traceback, no client bytes, rate-limited."""

    def __init__(self, rate: float = CLIENT_LINES_PER_SECOND) -> None:
        super().__init__()
        self.budget = _Budget(rate, rate)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.budget.take():
            return False
        kind = _kind(record.msg)
        error = record.exc_info[1] if record.exc_info else None
        detail = ""
        if error is not None:
            detail = f" error={type(error).__name__}"
            code = getattr(error, "code", None) or getattr(error, "status", None)
            if isinstance(code, int):
                detail += f" status={code}"
        peer = _peer(record.args) if kind == "Error handling request" else "-"
        _rewrite(record, f"client error: {kind} peer={peer}{detail}{self.budget.dropped_note()}")
        if record.levelno > logging.WARNING:  # a client's garbage is not a failure of the node
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class AcceptErrorFilter(logging.Filter):
    """At most one ``accept()`` resource error line per *every* seconds, with a count."""

    def __init__(self, every: float = ACCEPT_ERROR_EVERY, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.every = every
        self.clock = clock
        self.last: float | None = None
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not (isinstance(record.msg, str) and record.msg.startswith(ACCEPT_MESSAGE)):
            return True
        now = self.clock()
        if self.last is not None and now - self.last < self.every:
            self.dropped += 1
            return False
        self.last = now
        error = record.exc_info[1] if record.exc_info else None
        reason = getattr(error, "strerror", None) or type(error).__name__
        note = f" ({self.dropped} more since the last line)" if self.dropped else ""
        self.dropped = 0
        _rewrite(record, f"{ACCEPT_MESSAGE}: {reason}; new connections wait{note}")
        return True


def install_log_guards() -> None:
    """Put the guards on the loggers that can carry client bytes (idempotent); one budget for all."""
    shared = ClientErrorFilter()
    for name in CLIENT_LOGGERS:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, ClientErrorFilter)]:
            logger.removeFilter(old)
        logger.addFilter(shared)
    asyncio_logger = logging.getLogger("asyncio")
    if not any(isinstance(f, AcceptErrorFilter) for f in asyncio_logger.filters):
        asyncio_logger.addFilter(AcceptErrorFilter())
