"""The participant panel and host controls in real Chromium (docs/web-client.md, "Participants and host
controls"): a host mutes a member from the panel (the member's page shows it and the host's tile of them
too), asks them to unmute (they decide), makes them a viewer and a member again (publishing stops and comes
back without reconnecting), removes someone (their page ends, the link is refused) and ends the meeting
for everyone (every page ends). That forwarding stops at the SFU is tests/signalling/test_host_controls.py's."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, Page

from tests.browser.conftest import ARTIFACTS, VIDEO_PLAYING_JS, book, join, new_page, until, violations
from tests.processes import ServerProcess

MIC_PRESSED_JS = "() => document.getElementById('mic-button').getAttribute('aria-pressed') === 'true'"
MIC_ON_JS = "() => document.getElementById('mic-button').getAttribute('aria-pressed') === 'false'"


def tile_badge_shown(pid: str, badge: str) -> str:
    return (f"() => {{ const b = document.querySelector('.tile[data-participant-id=\"{pid}\"] .badge.{badge}');"
            " return Boolean(b) && !b.hidden; }")


async def announced(page: Page, text: str, node: ServerProcess) -> None:
    await until(page, "(text) => document.getElementById('announcer').textContent.includes(text)", text,
                what=f"announced: {text}", node=node)


async def open_panel(page: Page, people: int) -> None:
    toggle = page.get_by_role("button", name=f"Uczestnicy ({people})", exact=True)
    await toggle.click()
    assert await toggle.get_attribute("aria-expanded") == "true"
    await page.get_by_role("heading", name=f"Lista uczestników ({people})").wait_for()


async def test_a_host_mutes_asks_and_changes_a_members_role_from_the_panel(
    node: ServerProcess, browser: Browser
) -> None:
    room = book(node, [("Jan Kowalski", "host"), ("Anna Nowak", "member")])
    jan, anna = room["participants"]
    page_jan = await join(browser, jan, bypass_csp=True)  # axe-core is injected inline
    page_anna = await join(browser, anna)
    await until(page_jan, VIDEO_PLAYING_JS, anna["id"], what="Anna's video at Jan", node=node)
    await open_panel(page_jan, 2)
    row = page_jan.locator(f'#people-list li[data-participant-id="{anna["id"]}"]')
    assert "uczestnik" in await row.inner_text() and "w spotkaniu" in await row.inner_text()
    assert "gospodarz" in await page_jan.locator(f'#people-list li[data-participant-id="{jan["id"]}"]').inner_text()

    # axe-core on the host's page with the panel open, on a desktop and on a phone.
    for viewport in ({"width": 1280, "height": 800}, {"width": 390, "height": 844}):
        await page_jan.set_viewport_size(viewport)
        assert await violations(page_jan) == [], f"the host's panel at {viewport}"
        assert await page_jan.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        box = await page_jan.get_by_role("button", name="Usuń Anna Nowak", exact=True).bounding_box()
        assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= viewport["width"]
        assert box["height"] >= 44
        ARTIFACTS.mkdir(exist_ok=True)
        await page_jan.screenshot(path=str(ARTIFACTS / f"browser-host-panel-{viewport['width']}.png"))
    await page_jan.set_viewport_size({"width": 1280, "height": 800})

    # The host mutes Anna's microphone from the keyboard: her page turns it off and says so.
    mute = page_jan.get_by_role("button", name="Wycisz mikrofon Anna Nowak", exact=True)
    await mute.focus()
    await page_jan.keyboard.press("Enter")
    await until(page_anna, MIC_PRESSED_JS, what="Anna's mute toggle pressed", node=node)
    await announced(page_anna, "Gospodarz wyciszył Twój mikrofon.", node)
    assert await page_anna.evaluate("window.konsylium.localStream.getAudioTracks()[0].enabled") is False
    await until(page_jan, tile_badge_shown(anna["id"], "mic-off"), what="Jan's tile of Anna muted", node=node)
    await announced(page_jan, "Wyciszono mikrofon: Anna Nowak", node)
    # The keyboard stays on her row, now offering to ask her to unmute.
    ask = page_jan.get_by_role("button", name="Poproś o włączenie mikrofonu Anna Nowak", exact=True)
    await ask.wait_for()
    assert await page_jan.evaluate(f"document.activeElement.closest('li')?.dataset.participantId === '{anna['id']}'")

    # Asked to unmute, she decides: a prompt with "Włącz mikrofon".
    await ask.click()
    prompt = page_anna.locator("#host-prompt")
    await prompt.get_by_text("Gospodarz prosi o włączenie mikrofonu.").wait_for(timeout=10_000)
    await page_anna.wait_for_timeout(300)
    assert await page_anna.evaluate(MIC_PRESSED_JS), "nothing changes until she decides"
    await prompt.get_by_role("button", name="Włącz mikrofon", exact=True).click()
    await until(page_anna, MIC_ON_JS, what="Anna's microphone on again", node=node)
    await until(page_jan, f"() => !({tile_badge_shown(anna['id'], 'mic-off')})()", what="Jan sees her unmuted",
                node=node)

    # Made a viewer: her publishing stops and the toggles go; made a member: she may publish again.
    await page_jan.get_by_role("button", name="Zrób widzem Anna Nowak", exact=True).click()
    await until(page_anna, "() => document.getElementById('mic-button').hidden"
                " && document.getElementById('camera-button').hidden"
                " && window.konsylium.publisher === null && window.konsylium.localStream === null",
                what="Anna a viewer: nothing published", node=node)
    await announced(page_anna, "Gospodarz zmienił Twoją rolę na widza", node)
    await until(page_jan, tile_badge_shown(anna["id"], "viewer"), what="Jan's tile of Anna a viewer", node=node)
    assert "widz" in await row.inner_text()
    await page_jan.get_by_role("button", name="Zrób uczestnikiem Anna Nowak", exact=True).click()
    await page_anna.locator("#host-prompt").get_by_role("button", name="Włącz mikrofon i kamerę").click(timeout=10_000)
    await until(page_jan, VIDEO_PLAYING_JS, anna["id"], what="Anna's video back at Jan (no reconnect)", node=node)
    assert not await page_anna.evaluate("document.getElementById('mic-button').hidden")
    assert await page_anna.evaluate("window.konsylium.call.rejoinAttempts") == 0
    assert page_jan.konsylium_errors == [] and page_anna.konsylium_errors == []  # type: ignore[attr-defined]


async def ended(page: Page, heading: str, node: ServerProcess) -> str:
    await page.get_by_role("heading", name=heading).wait_for(timeout=10_000)
    assert await page.get_by_role("button", name="Dołącz ponownie").count() == 0
    assert await page.evaluate("window.konsylium.call.closed") is True
    text: str = await page.locator("#end-text").inner_text()
    return text


async def test_a_host_removes_someone_then_ends_the_meeting_for_everyone(
    node: ServerProcess, browser: Browser
) -> None:
    room = book(node, [("Jan Kowalski", "host"), ("Anna Nowak", "member"), ("Ewa Lis", "member")])
    jan, anna, ewa = room["participants"]
    pages: dict[str, Page] = {}
    for person in (jan, anna, ewa):
        pages[person["id"]] = await join(browser, person)
    page_jan, page_anna, page_ewa = (pages[p["id"]] for p in (jan, anna, ewa))
    await open_panel(page_jan, 3)

    # Removing asks first; "Anuluj" (or Escape) changes nothing.
    await page_jan.get_by_role("button", name="Usuń Anna Nowak", exact=True).click()
    dialog = page_jan.get_by_role("dialog", name="Usunąć ze spotkania: Anna Nowak?")
    await dialog.wait_for()
    assert await page_jan.evaluate("document.activeElement.id") == "confirm-no"
    await page_jan.keyboard.press("Escape")
    await dialog.wait_for(state="hidden")
    assert await page_jan.evaluate("document.activeElement.dataset.action") == "remove"
    await page_anna.wait_for_timeout(300)
    assert await page_anna.evaluate("window.konsylium.view") == "room"

    await page_jan.get_by_role("button", name="Usuń Anna Nowak", exact=True).click()
    await dialog.get_by_role("button", name="Usuń ze spotkania").click()
    told = await ended(page_anna, "Usunięto Cię ze spotkania", node)
    assert "wycofane" in told and "nie można już dołączyć" in told, told
    assert await page_anna.evaluate("window.konsylium.localStream") is None  # camera released
    await until(page_jan, f"() => !document.querySelector('.tile[data-participant-id=\"{anna['id']}\"]')",
                what="Anna's tile gone", node=node)
    await page_jan.get_by_role("heading", name="Lista uczestników (2)").wait_for()
    await announced(page_jan, "Usunięto ze spotkania: Anna Nowak", node)
    # The same link is refused from now on.
    again = await new_page(browser)
    response = await again.goto(anna["join_url"])
    assert response is not None and response.status == 410
    assert "wycofane" in await again.locator("main").inner_text()

    # Ending for everyone asks first too, then every page ends (the host's own as well).
    await page_jan.get_by_role("button", name="Zakończ dla wszystkich").click()
    await page_jan.get_by_role("dialog", name="Zakończyć spotkanie dla wszystkich?").get_by_role(
        "button", name="Zakończ dla wszystkich").click()
    for page in (page_ewa, page_jan):
        assert await ended(page, "Spotkanie zakończone", node) == "To spotkanie zostało zakończone."
    again = await new_page(browser)
    response = await again.goto(ewa["join_url"])
    assert response is not None and response.status == 410


async def test_the_panel_lists_everyone_for_a_member_without_host_controls(
    node: ServerProcess, browser: Browser
) -> None:
    room = book(node, [("Jan Kowalski", "host"), ("Anna Nowak", "member")])
    jan, anna = room["participants"]
    await join(browser, jan)
    page_anna: Any = await join(browser, anna, viewport={"width": 390, "height": 844}, bypass_csp=True)
    assert await page_anna.get_by_role("button", name="Zakończ dla wszystkich").count() == 0
    await open_panel(page_anna, 2)
    names = await page_anna.locator("#people-list .people-name").all_inner_texts()
    assert names == ["Anna Nowak (Ty)", "Jan Kowalski"]
    assert await page_anna.locator("#people-list button").count() == 0
    assert await violations(page_anna) == [], "a member's panel on a phone"
    assert await page_anna.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await page_anna.keyboard.press("Escape")
    assert await page_anna.evaluate("document.activeElement.id") == "people-toggle"
    assert await page_anna.locator("#people-panel").is_hidden()
