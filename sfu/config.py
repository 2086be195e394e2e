"""SFU configuration: which addresses ICE announces and how often keyframes may be asked for."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

__all__ = ["SfuConfig"]


@dataclass(frozen=True, slots=True)
class SfuConfig:
    """Settings of one :class:`~sfu.router.Sfu`.

    `addresses`: IP addresses to gather ICE host candidates on. Empty means aioice's
    own discovery (every interface except loopback). Set it to announce a chosen
    address, and to ``("127.0.0.1",)`` for loopback tests (aioice skips 127.0.0.1).
    `announced`: (local, public) pairs for a server behind 1:1 NAT: candidates gathered
    on `local` are offered with the `public` address (the socket stays bound to `local`).
    `ice_servers`: STUN/TURN URLs (``stun:host:port``); none by default, so gathering
    never waits on the network.
    `keyframe_interval`: minimum seconds between two PLIs sent to one publisher track;
    requests in between are coalesced into one sent when the interval has passed.
    """

    addresses: tuple[str, ...] = ()
    announced: tuple[tuple[str, str], ...] = ()
    ice_servers: tuple[str, ...] = ()
    keyframe_interval: float = 0.3

    def __post_init__(self) -> None:
        for address in self.addresses:
            try:
                ipaddress.ip_address(address)
            except ValueError as exc:
                raise ValueError(f"SfuConfig.addresses: {address!r} is not an IP address") from exc
        for local, public in self.announced:
            for address in (local, public):
                try:
                    ipaddress.ip_address(address)
                except ValueError as exc:
                    raise ValueError(f"SfuConfig.announced: {address!r} is not an IP address") from exc
        for url in self.ice_servers:
            if not url.startswith(("stun:", "turn:", "turns:")):
                raise ValueError(f"SfuConfig.ice_servers: {url!r} is not a stun:/turn: URL")
        if self.keyframe_interval < 0:
            raise ValueError("SfuConfig.keyframe_interval must be >= 0")
