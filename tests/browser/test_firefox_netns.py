"""Firefox without camera permission exchanges media with the server, from its own network.

Firefox without camera permission offers only its default-route addresses, hidden behind
mDNS `.local` names, and its ICE never pairs a loopback candidate with a non-loopback one. On
the loopback test bed (tests/browser/test_mdns.py) such a page can therefore never connect.
Here Firefox runs in a network namespace the test creates (a veth pair, host end
``10.x.y.1/30``, Firefox's end ``10.x.y.2/30`` with its default route through the host end),
and the node offers media on ``10.x.y.1`` beside ``127.0.0.1`` (for the Chromium peer on the
host). Firefox's offers and answers carry only `.local` names; the server drops them, answers
with its own candidates, and learns Firefox's address from its checks (peer-reflexive). Nothing
leaves the machine; the namespace and the veth pair are removed after the module, also on failure.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from playwright.async_api import Browser

from tests.browser.conftest import (
    AUDIO_FLOWING_JS,
    CONN_JS,
    VIDEO_PLAYING_JS,
    EvaluatingPage,
    LaunchFirefox,
    book,
    join,
    join_firefox,
    serving,
    until,
)
from tests.browser.firefox import FIREFOX_NO_PERMISSION, FirefoxPage
from tests.processes import ServerProcess

IP = "/usr/sbin/ip"  # iproute2, in the Makefile's APT_PACKAGES


@dataclass(frozen=True)
class Netns:
    """A network namespace joined to the host by a veth pair."""

    name: str
    host_link: str
    host_address: str  # the host end, where the node offers media
    guest_address: str  # the namespace end: Firefox's default-route address

    @property
    def wrapper(self) -> list[str]:
        """The command prefix that runs a program inside the namespace."""
        return [IP, "netns", "exec", self.name]


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IP, *args], capture_output=True, text=True, timeout=10, check=check)


def _free_subnet() -> ipaddress.IPv4Network:
    """A random 10.x.y.z/30 that no address of the host is in."""
    used = [ipaddress.ip_interface(f"{a['local']}/{a['prefixlen']}").network
            for link in json.loads(_ip("-j", "addr").stdout) for a in link.get("addr_info", [])
            if a.get("family") == "inet"]
    while True:
        net = ipaddress.IPv4Network(f"10.{secrets.randbelow(254) + 1}.{secrets.randbelow(256)}."
                                   f"{4 * secrets.randbelow(63)}/30")
        if not any(net.overlaps(other) for other in used):
            return net


def _remove(ns: Netns) -> None:
    """Delete the namespace and the veth pair; end what still runs inside (only our own processes)."""
    pids = _ip("netns", "pids", ns.name, check=False).stdout.split()
    for pid in pids:
        subprocess.run(["kill", "-KILL", pid], capture_output=True, check=False)
    _ip("netns", "del", ns.name, check=False)
    _ip("link", "del", ns.host_link, check=False)  # gone with the namespace, unless that failed


@pytest.fixture(scope="module")
def netns() -> Iterator[Netns]:
    tag = secrets.token_hex(3)
    net = _free_subnet()
    host, guest = (str(a) for a in net.hosts())
    ns = Netns(f"konsylium-{tag}", f"kns{tag}h", host, guest)
    guest_link = f"kns{tag}n"
    try:
        _ip("netns", "add", ns.name)
        _ip("link", "add", ns.host_link, "type", "veth", "peer", "name", guest_link)
        _ip("link", "set", guest_link, "netns", ns.name)
        _ip("addr", "add", f"{host}/30", "dev", ns.host_link)
        _ip("link", "set", ns.host_link, "up")
        inside = ["netns", "exec", ns.name, IP]
        _ip(*inside, "link", "set", "lo", "up")
        _ip(*inside, "addr", "add", f"{guest}/30", "dev", guest_link)
        _ip(*inside, "link", "set", guest_link, "up")
        _ip(*inside, "route", "add", "default", "via", host)
        yield ns
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"could not set up the namespace: {exc.cmd}: {exc.stderr}") from exc
    finally:
        _remove(ns)


@pytest.fixture(scope="module")
def veth_node(netns: Netns, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A node whose HTTP answers on every address and whose media is on loopback and the veth's host end."""
    settings = {
        "KONSYLIUM_HOST": "0.0.0.0",  # 127.0.0.1 for the API and Chromium, the veth host end for Firefox
        "KONSYLIUM_MEDIA_ADDRESSES": f"127.0.0.1,{netns.host_address}",
    }
    with serving(tmp_path_factory.mktemp("veth-node"), settings) as proc:
        yield proc


def reached_at(host: str, participant: dict[str, Any]) -> dict[str, Any]:
    """The participant with a join_url on *host* (the node's public URL names 0.0.0.0, where it listens)."""
    parts = urlsplit(participant["join_url"])
    return {**participant, "join_url": urlunsplit(parts._replace(netloc=f"{host}:{parts.port}"))}


# The ICE candidates (type and address) of a page's local description on one of its peer connections.
CANDIDATES_JS = """(which) => {
  const pc = window.konsylium[which];
  const sdp = pc && pc.localDescription ? pc.localDescription.sdp : '';
  return sdp.split('\\r\\n').filter((l) => l.startsWith('a=candidate:'))
    .map((l) => { const f = l.split(' '); return [f[7], f[4]]; });
}"""

# The remote address of the selected ICE pair of one of the page's peer connections.
SELECTED_REMOTE_JS = """async (which) => {
  const pc = window.konsylium[which];
  if (!pc || pc.connectionState !== 'connected') return null;
  const stats = await pc.getStats();
  for (const r of stats.values()) {
    if (r.type === 'candidate-pair' && r.state === 'succeeded' && (r.selected || r.nominated)) {
      const remote = stats.get(r.remoteCandidateId);
      return remote ? remote.address : null;
    }
  }
  return null;
}"""


async def only_mdns(page: EvaluatingPage, which: str, node: ServerProcess) -> None:
    """Wait for the page's *which* description; every candidate in it is a host one named by mDNS."""
    await until(page, CANDIDATES_JS, which, what=f"the {which}'s candidates", node=node)
    candidates: list[list[str]] = await page.evaluate(CANDIDATES_JS, which)
    assert all(kind == "host" and address.endswith(".local") for kind, address in candidates), candidates


async def honest_until(page: FirefoxPage, done: EvaluatingPage, expression: str, arg: Any, node: ServerProcess,
                       *, needs_publisher: bool, timeout: float = 30) -> None:
    """Poll *expression* on *done* until it holds; meanwhile *page* says "Połączono" (and its state is
    `connected`) exactly when every peer connection it needs is connected."""
    seen: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        conn = await page.evaluate(CONN_JS)
        seen.append(conn)
        publisher_up = conn["publisher"] == "connected" if needs_publisher else conn["publisher"] in (None, "connected")
        media_up = publisher_up and conn["subscriber"] in (None, "connected")
        assert (conn["text"] == "Połączono") == media_up, seen[-5:]
        assert (conn["state"] == "connected") == media_up, seen[-5:]
        if await done.evaluate(expression, arg):
            return
        assert loop.time() < deadline, f"timed out; the Firefox page said {seen[-1]} (first: {seen[0]})\n" \
                                       f"{node.log()[-3000:]}\n{page.firefox.log_tail()}"
        await asyncio.sleep(0.2)


async def test_firefox_without_camera_permission_publishing_sees_and_is_seen_through_mdns_only(
    veth_node: ServerProcess, netns: Netns, browser: Browser, firefox: LaunchFirefox
) -> None:
    """Fake camera and microphone handed out without a permission (the page is a secure context
    through Firefox's allowlist, as a real https page would be): Firefox publishes and subscribes
    with mDNS-only candidates, and media flows both ways with Chromium on the host."""
    node = veth_node
    room = book(node, [("Jan Kowalski", "host"), ("Anna Nowak", "member")])
    jan, anna = room["participants"]
    prefs = {**FIREFOX_NO_PERMISSION, "dom.securecontext.allowlist": netns.host_address}
    fox = await firefox(prefs, wrapper=netns.wrapper)
    page_anna = await join(browser, reached_at("127.0.0.1", anna))
    page_jan = await join_firefox(fox, reached_at(netns.host_address, jan), wait="welcomed")
    assert await page_jan.evaluate("window.isSecureContext") is True
    assert await page_anna.evaluate("window.konsylium.localStream.getTracks().length") == 2
    assert await page_jan.evaluate("window.konsylium.localStream.getTracks().length") == 2

    await only_mdns(page_jan, "publisher", node)
    await honest_until(page_jan, page_anna, VIDEO_PLAYING_JS, jan["id"], node, needs_publisher=True)
    await until(page_anna, AUDIO_FLOWING_JS, jan["id"], what="Firefox's audio in Chromium", node=node)
    await honest_until(page_jan, page_jan, VIDEO_PLAYING_JS, anna["id"], node, needs_publisher=True)
    await until(page_jan, AUDIO_FLOWING_JS, anna["id"], what="Chromium's audio in Firefox", node=node)
    await only_mdns(page_jan, "subscriber", node)
    await until(page_jan, "() => window.konsylium.state === 'connected'", what="Firefox connected", node=node)
    assert await page_jan.evaluate("document.getElementById('conn-state').textContent") == "Połączono"
    for which in ("publisher", "subscriber"):
        assert await page_jan.evaluate(SELECTED_REMOTE_JS, which) == netns.host_address
    assert await page_jan.page_errors() == []


async def test_firefox_on_a_page_without_camera_access_sees_the_others_through_mdns_only(
    veth_node: ServerProcess, netns: Netns, browser: Browser, firefox: LaunchFirefox
) -> None:
    """http://10.x.y.1 is not a secure context: no `navigator.mediaDevices`, so no camera at all
    (as for someone who declined it), but RTCPeerConnection works. The page joins to watch only,
    its answer carries only mDNS names, and it sees and hears Chromium's participant."""
    node = veth_node
    room = book(node, [("Jan Kowalski", "host"), ("Anna Nowak", "member")])
    jan, anna = room["participants"]
    fox = await firefox(FIREFOX_NO_PERMISSION, wrapper=netns.wrapper)
    page_anna = await join(browser, reached_at("127.0.0.1", anna))
    page_jan = await join_firefox(fox, reached_at(netns.host_address, jan), wait="welcomed")
    assert await page_jan.evaluate("window.isSecureContext") is False
    assert await page_jan.evaluate("typeof navigator.mediaDevices") == "undefined"

    await until(page_jan, "() => Boolean(window.konsylium.subscriber?.localDescription)",
                what="the subscribe answer", node=node)
    await only_mdns(page_jan, "subscriber", node)
    await honest_until(page_jan, page_jan, VIDEO_PLAYING_JS, anna["id"], node, needs_publisher=False)
    await until(page_jan, AUDIO_FLOWING_JS, anna["id"], what="Chromium's audio in Firefox", node=node)
    await until(page_jan, "() => window.konsylium.state === 'connected'", what="Firefox connected", node=node)
    assert await page_jan.evaluate(SELECTED_REMOTE_JS, "subscriber") == netns.host_address
    assert await page_anna.evaluate("window.konsylium.state") == "connected"
    assert await page_jan.page_errors() == []
