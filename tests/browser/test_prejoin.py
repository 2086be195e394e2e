"""The pre-join page: language, keyboard use, device choice (CONTRACT.md §5, DOMAIN.md: Polish first, WCAG)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from playwright.async_api import Browser

from tests.browser.conftest import TILE_IDS_JS, book, new_page, until
from tests.processes import ServerProcess


async def test_polish_by_default_english_by_accept_language(node: ServerProcess, browser: Browser) -> None:
    room = book(node, [("Jan Kowalski", "host"), ("Anna Nowak", "member")], title="Posiedzenie zarządu")
    anna = room["participants"][1]

    polish = await new_page(browser, locale="pl-PL")
    await polish.goto(anna["join_url"])
    await polish.get_by_role("button", name="Dołącz", exact=True).wait_for()
    assert await polish.get_attribute("html", "lang") == "pl"
    await polish.get_by_role("heading", name="Posiedzenie zarządu").wait_for()
    await polish.get_by_text("Dołączasz jako Anna Nowak").wait_for()
    assert await polish.get_by_label("Kamera", exact=True).count() == 1
    assert await polish.get_by_label("Mikrofon", exact=True).count() == 1

    english = await new_page(browser, locale="en-GB", headers={"Accept-Language": "en"})
    await english.goto(anna["join_url"])
    join = english.get_by_role("button", name="Join", exact=True)
    await join.wait_for()
    assert await english.get_attribute("html", "lang") == "en"
    await english.get_by_text("You are joining as Anna Nowak").wait_for()
    assert await english.get_by_label("Camera", exact=True).count() == 1
    assert await english.get_by_role("button", name="Dołącz").count() == 0

    # The language switch keeps the token and gives the Polish page back.
    switch = english.get_by_role("link", name="Przełącz na język polski")
    href = await switch.get_attribute("href")
    assert href is not None
    query = parse_qs(urlsplit(href).query)
    assert query["lang"] == ["pl"] and query["t"] == [parse_qs(urlsplit(anna["join_url"]).query)["t"][0]]
    await switch.click()
    await english.get_by_role("button", name="Dołącz", exact=True).wait_for()
    assert await english.get_attribute("html", "lang") == "pl"

    # English works in the room too.
    english2 = await new_page(browser, locale="en-GB", headers={"Accept-Language": "en"})
    await english2.goto(anna["join_url"])
    await english2.get_by_role("button", name="Join", exact=True).click()
    await english2.get_by_role("button", name="Leave meeting").wait_for()
    await until(english2, "() => document.getElementById('conn-state').textContent === 'Connected'",
                what="'Connected' shown", node=node)


async def test_keyboard_alone_chooses_a_device_joins_mutes_and_leaves(node: ServerProcess, browser: Browser) -> None:
    room = book(node, [("Jan Kowalski", "host")])
    jan = room["participants"][0]
    page = await new_page(browser)
    await page.goto(jan["join_url"])
    await page.get_by_text("Kamera i mikrofon działają.").wait_for()

    # Tab through the page in order: every stop is a real control with a name; the Join button comes.
    stops: list[str] = []
    for _ in range(10):
        await page.keyboard.press("Tab")
        focused = await page.evaluate("""() => {
            const el = document.activeElement;
            const label = el.labels?.[0]?.textContent || el.getAttribute('aria-label') || el.textContent;
            return el.tagName + ':' + label.trim();
        }""")
        stops.append(focused)
        if focused == "BUTTON:Dołącz":
            break
    assert stops[-1] == "BUTTON:Dołącz", stops
    assert "SELECT:Kamera" in stops and "SELECT:Mikrofon" in stops
    assert stops.index("SELECT:Kamera") < stops.index("SELECT:Mikrofon") < len(stops) - 1
    # The focus is visible: an outline is drawn on the focused button.
    outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")

    await page.keyboard.press("Enter")
    await until(page, "() => window.konsylium?.state === 'connected' && window.konsylium.publisher"
                "?.connectionState === 'connected'", what="joined by keyboard", node=node)
    assert await page.evaluate(TILE_IDS_JS) == [jan["id"]]
    # Focus moved to the room's heading; Tab reaches the microphone toggle, Space toggles it.
    assert await page.evaluate("document.activeElement.id") == "room-title"
    for _ in range(6):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.id") == "mic-button":
            break
    assert await page.evaluate("document.activeElement.id") == "mic-button"
    await page.keyboard.press("Space")
    assert await page.get_attribute("#mic-button", "aria-pressed") == "true"
    stops = []  # the control bar in order: camera, then the others (chat, raise hand, ...), leave last
    for _ in range(8):
        await page.keyboard.press("Tab")
        stops.append(await page.evaluate("document.activeElement.id"))
        if stops[-1] == "leave-button":
            break
    assert stops[0] == "camera-button" and stops[-1] == "leave-button", stops
    await page.keyboard.press("Enter")
    await page.get_by_role("heading", name="Nie jesteś już w spotkaniu").wait_for()
    assert await page.evaluate("document.activeElement.id") == "end-title"


async def test_choosing_another_camera_and_microphone_restarts_the_preview(
    node: ServerProcess, browser_two_devices: Browser
) -> None:
    room = book(node, [("Jan Kowalski", "host")])
    jan = room["participants"][0]
    page = await new_page(browser_two_devices)
    await page.goto(jan["join_url"])
    await page.get_by_text("Kamera i mikrofon działają.").wait_for()
    camera = page.get_by_label("Kamera", exact=True)
    labels = await camera.evaluate("(s) => [...s.options].map((o) => o.textContent)")
    assert labels == ["fake_device_0", "fake_device_1"]
    assert await page.evaluate("window.konsylium.localStream.getVideoTracks()[0].label") == "fake_device_0"

    await camera.select_option(label="fake_device_1")
    await until(page, """() => {
        const tracks = window.konsylium.localStream.getVideoTracks();
        const shown = document.getElementById('preview').srcObject?.getVideoTracks()[0];
        return tracks.length === 1 && tracks[0].label === 'fake_device_1'
          && tracks[0].readyState === 'live' && shown === tracks[0];
    }""", what="the second camera in the preview")
    microphone = page.get_by_label("Mikrofon", exact=True)
    await microphone.select_option(label="Fake Audio Input 2")
    await until(page, """() => {
        const tracks = window.konsylium.localStream.getAudioTracks();
        return tracks.length === 1 && tracks[0].label === 'Fake Audio Input 2' && tracks[0].readyState === 'live';
    }""", what="the other microphone")
    assert await camera.input_value() != ""
    assert await camera.evaluate("(s) => s.selectedOptions[0].textContent") == "fake_device_1"

    # What is published is the chosen camera: the call's local stream carries it.
    await page.get_by_role("button", name="Dołącz", exact=True).click()
    await until(page, "() => window.konsylium.publisher?.getSenders().some("
                "(s) => s.track && s.track.label === 'fake_device_1')", what="the chosen camera published",
                node=node)
