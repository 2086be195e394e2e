"""What a room's workflow asks of the front process, which alone holds the store.

A workflow package keeps its own records (a consultation's outcome and note) in the
room store's file, and only the front process has the store: a live room in a media
worker has not. So a workflow reaches its records by name, through `FrontCalls`:
``await live.rooms.front.call("visit.complete", {...})``. The front's composition
root (konsylium/app.py) registers each name's handler with `LocalFrontCalls`; live
rooms in the front call it directly, those in a media worker over the worker link
(`signalling.media_worker.LinkFrontCalls`, served by the front's
`signalling.workers.WorkerRoomService`). Parameters and results are JSON; a handler's
expected refusal is a `signalling.errors.LiveError` (it crosses the link as itself).

``signalling`` never imports a workflow package: it carries names and JSON only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from signalling.errors import Forbidden

__all__ = ["FrontCall", "FrontCalls", "LocalFrontCalls"]

#: One named call's handler: JSON parameters in, a JSON result out.
FrontCall = Callable[[Mapping[str, Any]], Awaitable[Any]]


class FrontCalls(Protocol):
    """Where a live room's workflow sends the calls the front serves."""

    async def call(self, name: str, params: Mapping[str, Any]) -> Any:
        """Run the front's handler of *name* with *params*; return its result (or raise its refusal)."""


class LocalFrontCalls:
    """The front's handlers by name (none: every call is refused, as on a node without workflows)."""

    def __init__(self, handlers: Mapping[str, FrontCall] | None = None) -> None:
        self.handlers: dict[str, FrontCall] = dict(handlers or {})

    async def call(self, name: str, params: Mapping[str, Any]) -> Any:
        handler = self.handlers.get(name)
        if handler is None:
            raise Forbidden(f"this node serves no {name[:40]!r}")
        return await handler(params)
