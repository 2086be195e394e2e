"""Which addresses a webhook may call: public ones only, checked at registration and at send time.

Delivering to an integrator-chosen URL must not become a way into the node's own
network (server-side request forgery). Refused: loopback, private (RFC 1918, ULA),
link-local, shared (CGNAT), documentation and other reserved ranges, the cloud
metadata addresses (169.254.169.254, fd00:ec2::254), multicast and the unspecified
address; IPv4 written inside IPv6 (``::ffff:127.0.0.1``) is judged as the IPv4.

A URL is checked when registered (its literal address, or what its host resolves
to: any refused address refuses it) and again on every attempt: `CheckedResolver`
resolves the host itself and hands aiohttp only checked addresses, so the
connection goes to what was checked (a DNS answer that changes in between, "DNS
rebinding", gains nothing). `allow_private` (``KONSYLIUM_WEBHOOKS_ALLOW_PRIVATE``)
admits loopback, private and link-local destinations, for on-premises receivers
and tests; metadata, multicast and unspecified addresses stay refused even then.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

__all__ = ["CheckedResolver", "DestinationRefused", "Resolve", "check_destination", "literal_refusal", "refusal",
           "system_resolve"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Resolve a host name to its addresses (raise OSError when it does not resolve).
Resolve = Callable[[str], Awaitable[list[str]]]
ALWAYS_REFUSED = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
RESOLVE_TIMEOUT = 3.0


class DestinationRefused(OSError):
    """The destination is an address webhooks may not call; the message says which kind."""


def _plain(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def refusal(raw: str, allow_private: bool) -> str | None:
    """Why the IP address *raw* may not be called (None: it may)."""
    address = _plain(ipaddress.ip_address(raw.split("%", 1)[0]))
    if address in ALWAYS_REFUSED:
        return "a cloud metadata address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if allow_private:
        return None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "a reserved, non-public address"
    return None


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


async def system_resolve(host: str) -> list[str]:
    """The host's addresses from the system resolver (bounded in time)."""
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT)
    return [str(info[4][0]) for info in infos]


def _special(host: str) -> str | None:
    """RFC 6761 names answered without asking DNS: ``localhost`` is loopback, ``.invalid`` nothing."""
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return "127.0.0.1"
    return None


async def check_destination(url: URL, allow_private: bool, resolve: Resolve = system_resolve) -> None:
    """Raise DestinationRefused when *url*'s host is, or resolves to, a refused address.

    A name that does not resolve now is accepted (it may be published later): every
    attempt checks again.
    """
    host = url.raw_host or ""
    literal = _literal(host)
    if literal is not None:
        addresses = [literal]
    elif (special := _special(host)) is not None:
        addresses = [special]
    elif host.lower().rstrip(".").endswith(".invalid"):
        return
    else:
        try:
            addresses = await resolve(host)
        except (OSError, TimeoutError, UnicodeError):
            return
    for address in addresses:
        why = refusal(address, allow_private)
        if why is not None:
            raise DestinationRefused(f"the host is or resolves to {why}")


class CheckedResolver(AbstractResolver):
    """aiohttp's resolver for deliveries: resolves, then refuses the host if any address is refused."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner = ThreadedResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        if host.lower().rstrip(".").endswith(".invalid"):
            raise OSError("a .invalid name does not resolve")
        results = await self._inner.resolve(host, port, family)
        for result in results:
            why = refusal(result["host"], self.allow_private)
            if why is not None:
                raise DestinationRefused(f"the host resolves to {why}")
        return results

    async def close(self) -> None:
        await self._inner.close()


def literal_refusal(url: URL, allow_private: bool) -> str | None:
    """Why *url*'s literal IP host may not be called (aiohttp resolves no literal: checked here)."""
    literal = _literal(url.raw_host or "")
    return None if literal is None else refusal(literal, allow_private)
