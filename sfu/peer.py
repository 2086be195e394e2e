"""Server-side aiortc peer connections: configured, fully gathered, watched for loss."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Literal

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription

from .aiortc_internals import answer_as_dtls_server, configure_host_addresses, receive_in_place
from .config import SfuConfig
from .errors import InvalidAnswer, InvalidOffer, NoCandidates, SfuError
from .sdp import CheckedOffer, check_answer, check_offer
from .stats import SfuCounters

__all__ = [
    "ServerPeer",
    "check_offer_sdp",
    "close_connection",
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
    Raises `NoCandidates` when nothing could be gathered (no usable address, or out of
    sockets / file descriptors): such an SDP could never connect.
    """
    configure_host_addresses(pc, config.addresses, dict(config.announced))
    receive_in_place(pc)
    try:
        if kind == "offer":
            description = await pc.createOffer()
        else:
            description = await pc.createAnswer()
        await pc.setLocalDescription(description)
    except OSError as exc:
        raise NoCandidates(f"cannot gather ICE candidates: {_short(exc)}") from exc
    sdp: str = pc.localDescription.sdp
    if "\na=candidate:" not in sdp:
        raise NoCandidates("the server has no ICE candidate to offer (no usable address or out of sockets)")
    return sdp


def check_offer_sdp(sdp: object) -> CheckedOffer:
    """Check and normalise a client's offer (see `sfu.sdp`); raise `InvalidOffer` if unusable."""
    return check_offer(sdp)


def media_kinds(sdp: str) -> list[str]:
    """The kinds of the audio and video m-lines of *sdp*, in order."""
    return _MEDIA_LINE.findall(sdp.replace("\r\n", "\n"))


def _short(exc: BaseException) -> str:
    """A short, printable description of an exception raised on client input."""
    text = str(exc) or type(exc).__name__
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= 120 else text[:117] + "..."


async def close_connection(pc: RTCPeerConnection) -> None:
    """Close `pc`, and if aiortc fails half-way (a connection a bad offer left odd),
    stop every transport it still holds so no socket or task is left."""
    try:
        await pc.close()
        return
    except Exception as exc:
        logger.warning("closing a peer connection failed (%s); stopping its transports", type(exc).__name__)
    for transceiver in pc.getTransceivers():
        for dtls in {transceiver.receiver.transport, transceiver.sender.transport}:
            if dtls is None:
                continue
            with contextlib.suppress(Exception):
                await dtls.stop()
            with contextlib.suppress(Exception):
                await dtls.transport.stop()
    if pc.sctp is not None:
        with contextlib.suppress(Exception):
            await pc.sctp.transport.stop()
        with contextlib.suppress(Exception):
            await pc.sctp.transport.transport.stop()


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

    async def _apply_offer(self, offer: CheckedOffer) -> None:
        """Set a checked client offer as remote description; any failure is `InvalidOffer`."""
        try:
            await self._pc.setRemoteDescription(RTCSessionDescription(sdp=offer.sdp, type="offer"))
        except Exception as exc:
            raise InvalidOffer(f"cannot apply offer: {_short(exc)}") from exc

    async def _create_answer(self, offer: CheckedOffer) -> str:
        """Answer the applied offer (DTLS server to `actpass` offers); `InvalidOffer` or
        `NoCandidates` on failure."""
        try:
            if offer.actpass:
                answer_as_dtls_server(self._pc)
            return await local_description(self._pc, self._config, "answer")
        except SfuError:
            raise
        except Exception as exc:
            raise InvalidOffer(f"cannot create answer: {_short(exc)}") from exc

    async def _apply_answer(self, answer_sdp: object) -> None:
        """Set a client's answer to the server's offer (checked and normalised like offers:
        extmap attributes, mDNS candidates); any failure is `InvalidAnswer`."""
        sdp = check_answer(answer_sdp)
        try:
            await self._pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        except Exception as exc:
            raise InvalidAnswer(f"cannot apply answer: {_short(exc)}") from exc

    @abstractmethod
    async def close(self) -> None:
        """Free everything (idempotent)."""
