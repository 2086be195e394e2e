"""Firefox ESR (a second browser engine) in calls through the real server.

Firefox is Debian's firefox-esr driven over WebDriver BiDi (tests/browser/firefox.py),
with fake camera and microphone; Chromium is the one of the other browser tests. A Firefox
page without camera permission is in test_mdns.py.
"""

from __future__ import annotations

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
from tests.processes import ServerProcess


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
