"""Server-side aiortc peer connections: configured, fully gathered, watched for loss."""

from __future__ import annotations

import asyncio
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Literal

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer, RTCPeerConnection

from .aiortc_internals import configure_host_addresses, receive_in_place
from .config import SfuConfig
from .errors import InvalidOffer
from .stats import SfuCounters

__all__ = [
    "ServerPeer",
    "check_offer_sdp",
    "create_peer_connection",
    "local_description",
    "media_kinds",
    "watch_connection",
]

logger = logging.getLogger(__name__)
_MEDIA_LINE = re.compile(r"^m=(audio|video) ", re.MULTILINE)


def create_peer_connection(config: SfuConfig) -> RTCPeerConnection:
    """Create a connection that bundles everything on one ICE transport (one socket)."""
    return RTCPeerConnection(
        RTCConfiguration(
            iceServers=[RTCIceServer(urls=url) for url in config.ice_servers],
            bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
        )
    )


async def local_description(pc: RTCPeerConnection, config: SfuConfig, kind: Literal["offer", "answer"]) -> str:
    """Create and set an offer or answer; return its SDP with every candidate gathered.

    aiortc does not trickle: `setLocalDescription` gathers all candidates first. Received
    packets are handled as they arrive (`receive_in_place`), not queued for a task.
    """
    configure_host_addresses(pc, config.addresses, dict(config.announced))
    receive_in_place(pc)
    if kind == "offer":
        description = await pc.createOffer()
    else:
        description = await pc.createAnswer()
    await pc.setLocalDescription(description)
    sdp: str = pc.localDescription.sdp
    return sdp


def check_offer_sdp(sdp: object) -> str:
    """Return `sdp` if it looks like an SDP offer with media; raise `InvalidOffer` if not."""
    if not isinstance(sdp, str) or not sdp.strip():
        raise InvalidOffer("SDP offer is empty")
    if not sdp.lstrip().startswith("v=0"):
        raise InvalidOffer("SDP offer does not start with v=0")
    if not _MEDIA_LINE.search(sdp.replace("\r\n", "\n")):
        raise InvalidOffer("SDP offer has no audio or video m-line")
    return sdp


def media_kinds(sdp: str) -> list[str]:
    """The kinds of the audio and video m-lines of *sdp*, in order."""
    return _MEDIA_LINE.findall(sdp.replace("\r\n", "\n"))


def watch_connection(pc: RTCPeerConnection, on_lost: Callable[[], None]) -> None:
    """Call `on_lost` when `pc` fails or is closed (e.g. the client went away)."""

    def on_state_change() -> None:
        if pc.connectionState in ("failed", "closed"):
            on_lost()

    pc.on("connectionstatechange", on_state_change)


class ServerPeer(ABC):
    """What publishers and subscribers share: one server-side connection, closed when lost."""

    def __init__(self, peer_id: str, config: SfuConfig, counters: SfuCounters) -> None:
        self.id = peer_id
        self._config = config
        self._counters = counters
        self._pc = create_peer_connection(config)
        self._closed = False
        self._close_task: asyncio.Task[None] | None = None
        watch_connection(self._pc, self._connection_lost)

    @property
    def closed(self) -> bool:
        """True once closed."""
        return self._closed

    @property
    def connection_state(self) -> str:
        """aiortc connection state (new, connecting, connected, failed, closed)."""
        state: str = self._pc.connectionState
        return state

    def _connection_lost(self) -> None:
        if not self._closed and self._close_task is None:
            logger.info("%s %s connection %s", type(self).__name__.lower(), self.id, self._pc.connectionState)
            self._close_task = asyncio.ensure_future(self.close())

    @abstractmethod
    async def close(self) -> None:
        """Free everything (idempotent)."""
