"""Screen sharing in Chromium, and a room that fits the window (docs/web-client.md, "Screen sharing").

`screen_browser` is Chromium whose `getDisplayMedia` answers without a picker: the fake media UI
(`--use-fake-ui-for-media-stream`) accepts the request as a person choosing "Entire screen" would,
and the fake capture devices (`--use-fake-device-for-media-stream`) supply that screen, a
synthetic moving picture of the page's size (`displaySurface: "monitor"`). The page's own code is
what runs: nothing in it is replaced.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from tests.browser.conftest import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    VIDEO_PLAYING_JS,
    book,
    chromium_with,
    join,
    new_page,
    until,
)
from tests.processes import ServerProcess

# Flags that answer getDisplayMedia in headless Chromium (tried here: without the fake UI the
# picker waits forever, and --auto-select-desktop-capture-source finds no desktop to pick from).
SCREEN_ARGS = [*CHROMIUM_ARGS, "--auto-select-desktop-capture-source=Entire screen"]


@pytest.fixture
async def screen_browser() -> AsyncIterator[Browser]:
    async with chromium_with(SCREEN_ARGS) as chromium:
        yield chromium


# Is the shared screen of *pid* on the stage and playing (frames decoded, time advancing)?
SCREEN_PLAYING_JS = """async (pid) => {
  const stage = document.getElementById('screen-stage');
  const v = document.querySelector(`#screen-stage video[data-screen-of="${pid}"]`);
  if (!stage || stage.hidden || !v || !v.videoWidth || v.paused) return false;
  const t0 = v.currentTime;
  await new Promise((r) => setTimeout(r, 300));
  return v.currentTime > t0 ? [v.videoWidth, v.videoHeight] : false;
}"""

# What overlaps or scrolls in the room: [] when the page fits the window.
LAYOUT_JS = """() => {
  const bad = [];
  const doc = document.documentElement;
  if (doc.scrollHeight > innerHeight) bad.push(`page scrolls: scrollHeight ${doc.scrollHeight} > ${innerHeight}`);
  if (doc.scrollWidth > innerWidth) bad.push(`page scrolls sideways: ${doc.scrollWidth} > ${innerWidth}`);
  const bar = document.querySelector('#view-room .controls').getBoundingClientRect();
  if (bar.bottom > innerHeight + 0.5 || bar.top < 0) bad.push(`control bar off screen: ${bar.top}-${bar.bottom}`);
  const shown = [...document.querySelectorAll('#tiles .tile'), document.getElementById('screen-stage')]
    .filter((el) => !el.hidden);
  for (const el of shown) {
    const r = el.getBoundingClientRect();
    const what = el.id || el.dataset.participantId;
    if (r.bottom > bar.top + 0.5) bad.push(`${what} runs under the control bar: ${r.bottom} > ${bar.top}`);
    if (r.top < 0) bad.push(`${what} above the window: ${r.top}`);
    if (r.height < 40 || r.width < 60) bad.push(`${what} too small: ${r.width}x${r.height}`);
  }
  return bad;
}"""

AREA_JS = """(selector) => [...document.querySelectorAll(selector)].filter((el) => !el.hidden)
  .map((el) => { const r = el.getBoundingClientRect(); return r.width * r.height; })"""


async def share(page: Page) -> None:
    """Press "Udostępnij ekran" and wait until the page publishes its screen."""
    await page.get_by_role("button", name="Udostępnij ekran").click()
    await until(page, "() => window.konsylium.share.track?.readyState === 'live' && "
                "window.konsylium.publisher?.connectionState === 'connected' && "
                "window.konsylium.publisher.getTransceivers().length === 3", what="sharing")


async def test_one_shares_the_screen_and_the_other_sees_it_large(node: ServerProcess, screen_browser: Browser) -> None:
    room = book(node, [("Jan Kowalski", "host"), ("Anna Nowak", "member")])
    jan, anna = room["participants"]
    desktop = {"width": 1280, "height": 800}
    page_jan = await join(screen_browser, jan, viewport=desktop)
    page_anna = await join(screen_browser, anna, viewport=desktop)
    await until(page_anna, VIDEO_PLAYING_JS, jan["id"], what="Jan's camera at Anna", node=node)
    assert await page_anna.locator("#screen-stage").is_hidden()

    await share(page_jan)
    button = page_jan.get_by_role("button", name="Zatrzymaj udostępnianie")
    assert await button.get_attribute("aria-pressed") == "true"
    screen = await page_jan.evaluate("window.konsylium.share.track.getSettings()")
    assert screen["displaySurface"] == "monitor"
    size = await until(page_anna, SCREEN_PLAYING_JS, jan["id"], what="Jan's screen on Anna's stage", node=node)
    assert size == [screen["width"], screen["height"]], "the stage plays the screen, not the camera"
    assert await page_anna.locator("#screen-caption").inner_text() == "Ekran: Jan Kowalski"
    await until(page_anna, f"() => window.konsylium.call.participants.get('{jan['id']}')?.sharing === true",
                what="Jan's sharing in the participant view")
    # Large: the screen takes most of the stage; the camera tiles (Jan's too) are small beside it.
    stage_area = (await page_anna.evaluate(AREA_JS, "#screen-stage"))[0]
    tiles = await page_anna.evaluate(AREA_JS, "#tiles .tile")
    assert len(tiles) == 2 and all(stage_area > 4 * tile for tile in tiles), (stage_area, tiles)
    assert stage_area > 0.4 * 1280 * 800
    await until(page_anna, VIDEO_PLAYING_JS, jan["id"], what="Jan's camera still playing", node=node)
    assert await page_anna.evaluate(LAYOUT_JS) == []
    # The sharer sees their own screen on the stage too.
    await until(page_jan, SCREEN_PLAYING_JS, jan["id"], what="Jan's own screen", node=node)
    assert await page_jan.locator("#screen-caption").inner_text() == "Udostępniasz swój ekran"
    ARTIFACTS.mkdir(exist_ok=True)
    await page_anna.screenshot(path=str(ARTIFACTS / "browser-screen-share.png"))

    # One sharer at a time: Anna's button says so and asks the browser for nothing.
    await page_anna.get_by_role("button", name="Udostępnij ekran").click()
    await page_anna.locator("#alerts .alert", has_text="Ekran udostępnia już Jan Kowalski").wait_for(timeout=5000)
    assert await page_anna.evaluate("window.konsylium.share.track") is None

    # Jan stops: the stage goes, Anna sees his camera in the grid again.
    await button.click()
    await page_anna.locator("#screen-stage").wait_for(state="hidden", timeout=10_000)
    assert await page_anna.evaluate("document.getElementById('stage-area').classList.contains('spotlight')") is False
    await until(page_anna, f"() => window.konsylium.call.participants.get('{jan['id']}')?.sharing === false",
                what="Jan no longer sharing")
    await until(page_anna, VIDEO_PLAYING_JS, jan["id"], what="Jan's camera after the share", node=node)
    await page_jan.get_by_role("button", name="Udostępnij ekran").wait_for()

    # Now Anna may; the browser ending her capture (its own "Stop sharing") stops the share.
    await share(page_anna)
    await until(page_jan, SCREEN_PLAYING_JS, anna["id"], what="Anna's screen at Jan", node=node)
    await page_anna.evaluate("window.konsylium.share.track.dispatchEvent(new Event('ended'))")
    await page_jan.locator("#screen-stage").wait_for(state="hidden", timeout=10_000)
    await page_anna.get_by_role("button", name="Udostępnij ekran").wait_for()

    # Sharing again, Anna is made a viewer by Jan: her capture stops and she is offered no share.
    await share(page_anna)
    await until(page_jan, SCREEN_PLAYING_JS, anna["id"], what="Anna's screen at Jan again", node=node)
    await page_jan.evaluate("(pid) => window.konsylium.socket.emitWithAck('set_role', "
                            "{participant_id: pid, role: 'viewer'})", anna["id"])
    await page_jan.locator("#screen-stage").wait_for(state="hidden", timeout=10_000)
    await until(page_anna, "() => window.konsylium.share.track === null", what="Anna's capture stopped", node=node)
    await page_anna.locator("#share-button").wait_for(state="hidden", timeout=5000)
    assert page_jan.konsylium_errors == [] and page_anna.konsylium_errors == []  # type: ignore[attr-defined]


async def test_a_viewer_is_not_offered_to_share(node: ServerProcess, screen_browser: Browser) -> None:
    room = book(node, [("Jan Kowalski", "host"), ("Ewa Widz", "viewer")])
    jan, ewa = room["participants"]
    await join(screen_browser, jan)
    page_ewa = await join(screen_browser, ewa)
    assert await page_ewa.locator("#share-button").count() == 1
    assert await page_ewa.locator("#share-button").is_hidden()


async def test_no_share_button_where_the_browser_cannot_share(node: ServerProcess, screen_browser: Browser) -> None:
    room = book(node, [("Jan Kowalski", "host")])
    page = await new_page(screen_browser, viewport={"width": 390, "height": 844})
    await page.add_init_script("delete MediaDevices.prototype.getDisplayMedia")  # as on a phone
    await page.goto(room["participants"][0]["join_url"])
    await page.get_by_role("button", name="Dołącz", exact=True).click()
    await until(page, "() => window.konsylium?.state === 'connected'", what="connected")
    assert await page.locator("#share-button").is_hidden()
    assert await page.get_by_role("button", name="Wycisz mikrofon").is_visible()


@pytest.mark.parametrize("viewport", [(1280, 800), (1366, 768), (390, 844)], ids=lambda v: f"{v[0]}x{v[1]}")
async def test_the_room_fits_the_window(node: ServerProcess, screen_browser: Browser,
                                        viewport: tuple[int, int]) -> None:
    """Alone, with three, and with a shared screen: the page never scrolls and no tile runs under
    the control bar."""
    size: dict[str, Any] = {"width": viewport[0], "height": viewport[1]}
    room = book(node, [("Jan Kowalski", "host"), ("Anna Nowak", "member"), ("Piotr Zieliński", "member")])
    jan, anna, piotr = room["participants"]
    page_jan = await join(screen_browser, jan, viewport=size)
    assert await page_jan.evaluate(LAYOUT_JS) == [], "one person"
    page_anna = await join(screen_browser, anna, viewport=size)
    await join(screen_browser, piotr, viewport=size)
    for other in (anna, piotr):
        await until(page_jan, VIDEO_PLAYING_JS, other["id"], what=f"{other['display_name']} at Jan", node=node)
    assert await page_jan.evaluate(LAYOUT_JS) == [], "three people"
    await share(page_anna)
    await until(page_jan, SCREEN_PLAYING_JS, anna["id"], what="Anna's screen at Jan", node=node)
    for page in (page_jan, page_anna):
        assert await page.evaluate(LAYOUT_JS) == [], "a shared screen"
    ARTIFACTS.mkdir(exist_ok=True)
    await page_jan.screenshot(path=str(ARTIFACTS / f"browser-layout-{viewport[0]}x{viewport[1]}.png"))
