"""Firefox ESR (a second browser engine) in calls through the real server.

Firefox is Debian's firefox-esr driven over WebDriver BiDi (tests/browser/firefox.py),
with fake camera and microphone; Chromium is the one of the other browser tests.
"""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import Browser

from tests.browser.conftest import (
    AUDIO_FLOWING_JS,
    TILE_IDS_JS,
    VIDEO_PLAYING_JS,
    LaunchFirefox,
    book,
    join,
    join_firefox,
    until,
)
from tests.browser.firefox import FIREFOX_NO_PERMISSION
from tests.processes import ServerProcess

# The ICE host candidates a page put in its last offer or answer on a peer connection.
HOST_CANDIDATES_JS = """(which) => {
  const pc = window.konsylium[which];
  const sdp = pc && pc.localDescription ? pc.localDescription.sdp : '';
  return sdp.split('\\r\\n').filter((l) => l.startsWith('a=candidate:') && l.includes(' typ host'))
    .map((l) => l.split(' ')[4]);
}"""

# What the page says about the connection, with the peer connections' real states.
CONN_JS = """() => ({
  text: document.getElementById('conn-state').textContent,
  state: window.konsylium.state,
  publisher: window.konsylium.publisher && window.konsylium.publisher.connectionState,
  subscriber: window.konsylium.subscriber && window.konsylium.subscriber.connectionState,
})"""


async def test_firefox_and_chromium_see_and_hear_each_other(
    node: ServerProcess, browser: Browser, firefox: LaunchFirefox
) -> None:
    room = book(node, [("Jan Kowalski", "host"), ("Anna Nowak", "member")])
    jan, anna = room["participants"]
    fox = await firefox()
    assert fox.version.startswith("firefox/")
    page_jan = await join_firefox(fox, jan)
    page_anna = await join(browser, anna)

    await until(page_anna, VIDEO_PLAYING_JS, jan["id"], what="Firefox's video in Chromium", node=node)
    await until(page_anna, AUDIO_FLOWING_JS, jan["id"], what="Firefox's audio in Chromium", node=node)
    await until(page_jan, VIDEO_PLAYING_JS, anna["id"], what="Chromium's video in Firefox", node=node)
    await until(page_jan, AUDIO_FLOWING_JS, anna["id"], what="Chromium's audio in Firefox", node=node)
    assert sorted(await page_jan.evaluate(TILE_IDS_JS)) == sorted([jan["id"], anna["id"]])
    await until(page_jan, "() => window.konsylium.state === 'connected'", what="Firefox connected", node=node)
    assert await page_jan.evaluate("document.getElementById('conn-state').textContent") == "Połączono"
    assert await page_jan.page_errors() == []


async def test_a_firefox_publisher_behind_mdns_names_is_seen_and_sees(
    node: ServerProcess, browser: Browser, firefox: LaunchFirefox
) -> None:
    """Firefox hides its host addresses behind mDNS names when the page has no camera permission
    (here: fake media granted by a pref, which is no permission): every candidate it sends the
    server, publishing and answering, is a `.local` name, and the call must still carry media."""
    room = book(node, [("Jan Kowalski", "host"), ("Anna Nowak", "member")])
    jan, anna = room["participants"]
    page_anna = await join(browser, anna)
    fox = await firefox(FIREFOX_NO_PERMISSION)
    page_jan = await join_firefox(fox, jan, wait="welcomed")

    # Jan publishes from Firefox with nothing but mDNS host candidates.
    await until(page_jan, HOST_CANDIDATES_JS, "publisher", what="the publish offer's candidates", node=node)
    hosts = await page_jan.evaluate(HOST_CANDIDATES_JS, "publisher")
    assert hosts and all(h.endswith(".local") for h in hosts), hosts

    # Until Jan's media connects his page must not say "Połączono": sample it while waiting.
    seen: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while True:
        conn = await page_jan.evaluate(CONN_JS)
        seen.append(conn)
        if conn["text"] == "Połączono":
            assert conn["publisher"] == "connected" and conn["subscriber"] in (None, "connected"), seen[-5:]
        if await page_anna.evaluate(VIDEO_PLAYING_JS, jan["id"]):
            break
        assert loop.time() < deadline, (
            f"Jan's video (Firefox publishing with only mDNS host candidates) never played in Chromium; "
            f"Jan's page said {seen[-1]}, before that {seen[-20:-1]}\n{node.log()[-3000:]}")
        await asyncio.sleep(0.2)

    # And Jan receives Anna through a subscribe connection whose answer had only mDNS names too.
    await until(page_jan, VIDEO_PLAYING_JS, anna["id"], what="Anna's video at the mDNS Firefox", node=node)
    hosts = await page_jan.evaluate(HOST_CANDIDATES_JS, "subscriber")
    assert hosts and all(h.endswith(".local") for h in hosts), hosts
    await until(page_jan, "() => window.konsylium.state === 'connected'", what="connected at last", node=node)
