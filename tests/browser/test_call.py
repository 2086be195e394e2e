"""People in a call see and hear each other through the real server (CONTRACT.md §5)."""

from __future__ import annotations

from playwright.async_api import Browser

from tests.browser.conftest import (
    ARTIFACTS,
    AUDIO_FLOWING_JS,
    TILE_IDS_JS,
    VIDEO_PLAYING_JS,
    book,
    cancel,
    join,
    new_page,
    until,
)
from tests.processes import ServerProcess


async def test_two_participants_see_and_hear_each_other(node: ServerProcess, browser: Browser) -> None:
    room = book(node, [("Jan Kowalski", "host"), ("Anna Nowak", "member")])
    jan, anna = room["participants"]
    page_jan = await join(browser, jan)
    page_anna = await join(browser, anna)

    for page, other in ((page_jan, anna), (page_anna, jan)):
        await until(page, VIDEO_PLAYING_JS, other["id"], what=f"{other['display_name']}'s video", node=node)
        await until(page, AUDIO_FLOWING_JS, other["id"], what=f"{other['display_name']}'s audio", node=node)
    # Each sees two tiles: themself (muted preview) and the other, with names.
    assert sorted(await page_jan.evaluate(TILE_IDS_JS)) == sorted([jan["id"], anna["id"]])
    anna_tile = page_jan.locator(f'.tile[data-participant-id="{anna["id"]}"]')
    await anna_tile.get_by_text("Anna Nowak", exact=True).wait_for()
    assert await page_jan.evaluate("document.querySelector('.tile.self video').muted") is True

    # The fake microphones beep: the server names an active speaker and one tile is highlighted.
    await until(page_jan, "() => document.querySelectorAll('.tile.speaking').length === 1",
                what="an active speaker highlighted", node=node)

    # Jan mutes his microphone: the button says so and Anna's page shows it on his tile.
    mic = page_jan.get_by_role("button", name="Wycisz mikrofon")
    await mic.click()
    assert await mic.get_attribute("aria-pressed") == "true"
    assert await page_jan.evaluate("window.konsylium.localStream.getAudioTracks()[0].enabled") is False
    jan_mic_badge = page_anna.locator(f'.tile[data-participant-id="{jan["id"]}"] .badge.mic-off')
    await jan_mic_badge.wait_for(state="visible", timeout=10_000)
    await mic.click()
    await jan_mic_badge.wait_for(state="hidden", timeout=10_000)


async def test_late_joiner_sees_both_and_a_leaver_disappears(node: ServerProcess, browser: Browser) -> None:
    room = book(node, [("Jan Kowalski", "host"), ("Anna Nowak", "member"), ("Piotr Zieliński", "member")])
    jan, anna, piotr = room["participants"]
    page_jan = await join(browser, jan)
    page_anna = await join(browser, anna)
    await until(page_jan, VIDEO_PLAYING_JS, anna["id"], what="Anna's video at Jan", node=node)

    page_piotr = await join(browser, piotr)
    for other in (jan, anna):
        await until(page_piotr, VIDEO_PLAYING_JS, other["id"], what=f"{other['display_name']} at Piotr", node=node)
    await until(page_piotr, AUDIO_FLOWING_JS, jan["id"], what="Jan's audio at Piotr", node=node)
    for page in (page_jan, page_anna):
        await until(page, VIDEO_PLAYING_JS, piotr["id"], what="Piotr's video at the early ones", node=node)

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "browser-three-participants.png"
    shot.unlink(missing_ok=True)
    await page_piotr.screenshot(path=str(shot))
    assert shot.is_file() and shot.stat().st_size > 10_000

    # Anna leaves with the button: her page says so, and her tile goes from the others.
    await page_anna.get_by_role("button", name="Opuść spotkanie").click()
    await page_anna.get_by_role("heading", name="Nie jesteś już w spotkaniu").wait_for()
    assert await page_anna.evaluate("window.konsylium.call.closed") is True
    for page in (page_jan, page_piotr):
        await page.locator(f'.tile[data-participant-id="{anna["id"]}"]').wait_for(state="detached", timeout=10_000)
    assert sorted(await page_jan.evaluate(TILE_IDS_JS)) == sorted([jan["id"], piotr["id"]])
    assert "Spotkanie opuszcza: Anna Nowak" in await page_jan.locator("#announcer").inner_text()
    await until(page_jan, VIDEO_PLAYING_JS, piotr["id"], what="Piotr still playing at Jan", node=node)

    # She can come back with one button, and is seen again.
    await page_anna.get_by_role("button", name="Dołącz ponownie").click()
    await until(page_jan, VIDEO_PLAYING_JS, anna["id"], what="Anna's video after rejoining", node=node)


async def test_viewer_joins_on_a_phone_without_publishing_and_sees_a_publisher(
    node: ServerProcess, browser: Browser
) -> None:
    room = book(node, [("Jan Kowalski", "host"), ("Ewa Widz", "viewer")])
    jan, ewa = room["participants"]
    page_jan = await join(browser, jan)
    phone = {"width": 360, "height": 740}
    page_ewa = await new_page(browser, viewport=phone)
    await page_ewa.add_init_script(
        "window.__gum = 0; const g = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);"
        "navigator.mediaDevices.getUserMedia = (c) => { window.__gum += 1; return g(c); };"
    )
    await page_ewa.goto(ewa["join_url"])
    await page_ewa.get_by_text("Dołączasz jako Ewa Widz").wait_for()
    assert await page_ewa.locator("#camera-select").is_visible() is False
    await page_ewa.get_by_role("button", name="Dołącz", exact=True).click()

    await until(page_ewa, VIDEO_PLAYING_JS, jan["id"], what="Jan's video at the viewer", node=node)
    await until(page_ewa, AUDIO_FLOWING_JS, jan["id"], what="Jan's audio at the viewer", node=node)
    assert await page_ewa.evaluate("window.__gum") == 0
    assert await page_ewa.evaluate("window.konsylium.publisher") is None
    # Nothing to mute for a viewer; the page fits a phone without sideways scrolling.
    assert await page_ewa.get_by_role("button", name="Wycisz mikrofon").count() == 0
    assert await page_ewa.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # The publisher sees the viewer as a participant who publishes nothing.
    await page_jan.locator(f'.tile[data-participant-id="{ewa["id"]}"]').wait_for(timeout=10_000)


async def test_joining_without_camera_and_microphone_when_the_browser_refuses(
    node: ServerProcess, browser: Browser
) -> None:
    room = book(node, [("Jan Kowalski", "host"), ("Anna Nowak", "member")])
    jan, anna = room["participants"]
    page_jan = await join(browser, jan)
    page_anna = await new_page(browser)
    await page_anna.add_init_script(
        "navigator.mediaDevices.getUserMedia = () => "
        "Promise.reject(new DOMException('denied', 'NotAllowedError'));"
    )
    await page_anna.goto(anna["join_url"])
    status = page_anna.get_by_role("status").filter(has_text="nie pozwoliła użyć kamery")
    await status.wait_for()
    await page_anna.get_by_role("button", name="Dołącz", exact=True).click()
    await until(page_anna, VIDEO_PLAYING_JS, jan["id"], what="Jan's video at Anna without devices", node=node)
    assert await page_anna.evaluate("window.konsylium.publisher") is None
    await page_jan.locator(f'.tile[data-participant-id="{anna["id"]}"] .badge.cam-off').wait_for(
        state="visible", timeout=10_000)


async def test_a_dropped_connection_shows_reconnecting_and_resumes_as_the_same_participant(
    node: ServerProcess, browser: Browser
) -> None:
    room = book(node, [("Jan Kowalski", "host"), ("Anna Nowak", "member")])
    jan, anna = room["participants"]
    page_jan = await join(browser, jan)
    page_anna = await join(browser, anna)
    await until(page_anna, VIDEO_PLAYING_JS, jan["id"], what="Jan's video before the drop", node=node)

    # Cut Jan's transport as a network loss would, and hold reconnection back for a moment.
    await page_jan.evaluate("""() => {
        window.__oldPublisher = window.konsylium.publisher;
        window.konsylium.socket.io.reconnection(false);
        window.konsylium.socket.io.engine.close();
    }""")
    banner = page_jan.locator("#reconnect-banner")
    await banner.wait_for(state="visible", timeout=5000)
    assert "Łączenie ponownie…" in await banner.inner_text()
    assert await page_jan.locator("#conn-state").inner_text() == "Łączenie ponownie…"
    # Anna is told Jan is reconnecting; his tile stays.
    jan_on_anna = page_anna.locator(f'.tile[data-participant-id="{jan["id"]}"]')
    await jan_on_anna.locator(".badge.reconnecting").wait_for(state="visible", timeout=10_000)

    await page_jan.evaluate("() => { const s = window.konsylium.socket; s.io.reconnection(true); s.connect(); }")
    await until(page_jan, "() => window.konsylium.state === 'connected' && window.konsylium.call.lastWelcome.resumed",
                what="resumed welcome", node=node)
    await banner.wait_for(state="hidden", timeout=5000)
    await jan_on_anna.locator(".badge.reconnecting").wait_for(state="hidden", timeout=10_000)
    # A new publish connection replaced the old one, and both see each other again, once.
    await until(page_jan, "() => window.konsylium.publisher && window.konsylium.publisher !== window.__oldPublisher"
                " && window.konsylium.publisher.connectionState === 'connected'", what="new publisher", node=node)
    await until(page_anna, VIDEO_PLAYING_JS, jan["id"], what="Jan's video after resuming", node=node)
    await until(page_jan, VIDEO_PLAYING_JS, anna["id"], what="Anna's video at Jan after resuming", node=node)
    assert sorted(await page_anna.evaluate(TILE_IDS_JS)) == sorted([jan["id"], anna["id"]])


async def test_a_second_tab_replaces_the_first_and_refused_messages_are_announced(
    node: ServerProcess, browser: Browser
) -> None:
    room = book(node, [("Jan Kowalski", "host")])
    jan = room["participants"][0]
    first = await join(browser, jan)

    # A message the server refuses: its `error` event is shown in the assertive live region, in Polish.
    await first.evaluate("() => window.konsylium.socket.emit('mute', {kind: 'smell', muted: true})")
    alert = first.locator("#alerts .alert")
    await alert.wait_for(timeout=10_000)
    assert "nie zrozumiał" in await alert.inner_text()
    assert await first.get_attribute("#alerts", "aria-live") == "assertive"

    second = await join(browser, jan)
    await first.get_by_role("heading", name="Spotkanie otwarte w innym miejscu").wait_for(timeout=10_000)
    assert await first.evaluate("window.konsylium.call.closed") is True
    assert await second.evaluate("window.konsylium.state") == "connected"


async def test_a_link_cancelled_after_the_page_opened_is_refused_in_plain_words(
    node: ServerProcess, browser: Browser
) -> None:
    room = book(node, [("Jan Kowalski", "host")])
    page = await new_page(browser)
    await page.goto(room["participants"][0]["join_url"])
    await page.get_by_role("button", name="Dołącz", exact=True).wait_for()
    cancel(node, room["id"])
    await page.get_by_role("button", name="Dołącz", exact=True).click()
    await page.get_by_role("heading", name="Nie można dołączyć").wait_for(timeout=10_000)
    assert await page.locator("#end-text").inner_text() == "To spotkanie zostało odwołane."
    assert await page.get_by_role("button", name="Dołącz ponownie").count() == 0
    assert await page.evaluate("window.konsylium.localStream") is None  # camera released
