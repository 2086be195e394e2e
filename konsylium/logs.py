"""Logging set-up. Log lines carry ids, never names, tokens or health data."""

from __future__ import annotations

import logging
import sys

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse
from aiohttp.web_protocol import ERROR as UNPARSED

from konsylium.log_guard import install_log_guards

__all__ = ["AccessLogger", "configure_logging", "printable"]

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
MAX_LOGGED_PATH = 200


def configure_logging(level: str) -> None:
    """Send every log line to stderr at *level*; guard the loggers that can carry client bytes."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aioice", "aiortc", "engineio", "socketio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    install_log_guards()


def printable(text: str, limit: int = MAX_LOGGED_PATH) -> str:
    """*text* cut to *limit* characters with every non-printable character escaped (no forged lines)."""
    cut = text[:limit]
    out = "".join(c if c.isprintable() and c != "\\" else c.encode("unicode_escape").decode("ascii") for c in cut)
    return out + ("..." if len(text) > limit else "")


class AccessLogger(AbstractAccessLogger):
    """One line per request with the path only: query strings carry join tokens.

    A request aiohttp could not parse already has its one line (see `konsylium.log_guard`).
    """

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if (request.method == UNPARSED.method and request.version == UNPARSED.version
                and not request.headers and response.status >= 400):
            return  # aiohttp's stand-in for a request it could not parse
        self.logger.info(
            "%s %s %s %.1fms", printable(request.method, 16), printable(request.path), response.status, time * 1000
        )
