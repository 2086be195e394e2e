"""Chat and raised hands in real Chromium (docs/web-client.md, "Chat" and "Raised hands"): two pages
chat, markup in a message is shown as text and injects nothing, a host removes a message and it goes
on both pages, a late joiner gets the history, raised hands queue in order on the other page and a
host lowers one; the chat panel passes axe-core at phone and desktop width."""

from __future__ import annotations

from playwright.async_api import Browser, Page

from tests.browser.conftest import ARTIFACTS, book, join, until, violations
from tests.processes import ServerProcess

MARKUP = '<img src=x onerror="window.__injected = 1"><b>pogrubione?</b>'

CHAT_JS = """() => [...document.querySelectorAll('#chat-list .chat-item')].map((li) => [
  li.querySelector('.chat-from').textContent, li.querySelector('.chat-text').textContent])"""
HANDS_JS = "() => [...document.querySelectorAll('#hands-list .hands-name')].map((e) => e.textContent)"


async def chat_of(page: Page) -> list[list[str]]:
    items: list[list[str]] = await page.evaluate(CHAT_JS)
    return items


async def send(page: Page, text: str) -> None:
    field = page.get_by_label("Wiadomość do wszystkich")
    await field.fill(text)
    await field.press("Enter")
    await until(page, "() => document.getElementById('chat-input').value === ''", what="the message sent")


async def test_two_pages_chat_a_host_removes_and_hands_queue(node: ServerProcess, browser: Browser) -> None:
    room = book(node, [("Jan Kowalski", "host"), ("Anna Nowak", "member"), ("Ewa Lis", "member")])
    jan, anna, ewa = room["participants"]
    page_jan = await join(browser, jan, bypass_csp=True)  # axe-core is injected inline
    page_anna = await join(browser, anna)

    # Anna opens the chat from the control bar (the focus goes to the field) and sends markup.
    toggle_anna = page_anna.locator("#chat-toggle")
    assert await toggle_anna.get_attribute("aria-expanded") == "false"
    await toggle_anna.click()
    assert await toggle_anna.get_attribute("aria-expanded") == "true"
    assert await page_anna.evaluate("document.activeElement.id") == "chat-input"
    await page_anna.get_by_text("Nie ma jeszcze wiadomości.").wait_for()
    await send(page_anna, MARKUP)

    # Jan's panel is closed: the toggle counts the unread message and the message is announced.
    await until(page_jan, "() => document.querySelector('#chat-toggle .chat-count').textContent === '1'",
                what="one unread on the toggle", node=node)
    await page_jan.get_by_role("button", name="Czat (nieprzeczytane: 1)").wait_for()
    await until(page_jan, "(text) => document.getElementById('announcer').textContent.includes("
                "'Wiadomość od Anna Nowak: ' + text)", MARKUP, what="the message announced", node=node)
    await page_jan.locator("#chat-toggle").click()
    assert await page_jan.locator("#chat-toggle .chat-count").is_hidden()
    await send(page_jan, "Witam wszystkich")

    # Both pages show both messages in order, the markup as its characters, and nothing was injected.
    for page, me in ((page_jan, "Jan"), (page_anna, "Anna")):
        await until(page, "() => document.querySelectorAll('#chat-list .chat-item').length === 2",
                    what=f"two messages at {me}", node=node)
        items = await chat_of(page)
        assert [text for _, text in items] == [MARKUP, "Witam wszystkich"]
        assert items[0][0] == ("Anna Nowak" if me == "Jan" else "Ty")
        assert items[1][0] == ("Ty" if me == "Jan" else "Jan Kowalski")
        assert await page.evaluate("document.querySelectorAll('#chat-panel img, #chat-panel b').length") == 0
        assert await page.evaluate("document.querySelectorAll('img').length") == 0
        assert await page.evaluate("window.__injected === undefined")
    assert await page_anna.get_by_role("button", name="Usuń").count() == 0  # only a host removes

    # Ewa joins late and gets the history.
    page_ewa = await join(browser, ewa)
    await page_ewa.locator("#chat-toggle").click()
    await until(page_ewa, "() => document.querySelectorAll('#chat-list .chat-item').length === 2",
                what="the history at Ewa", node=node)
    assert [text for _, text in await chat_of(page_ewa)] == [MARKUP, "Witam wszystkich"]

    # Jan removes Anna's message: it disappears on every page; the text stays nowhere.
    remove = page_jan.get_by_role("button", name="Usuń wiadomość od Anna Nowak")
    assert await remove.count() == 1
    await remove.focus()
    await page_jan.keyboard.press("Enter")
    for page in (page_jan, page_anna, page_ewa):
        await until(page, "() => document.querySelectorAll('#chat-list .chat-item').length === 1",
                    what="the message removed", node=node)
        assert [text for _, text in await chat_of(page)] == ["Witam wszystkich"]
        assert MARKUP not in await page.locator("#chat-list").inner_text()
    assert await page_jan.evaluate("document.getElementById('chat-panel').contains(document.activeElement)")

    # The chat panel passes axe-core, at desktop and at phone size, with nothing scrolling sideways.
    ARTIFACTS.mkdir(exist_ok=True)
    for viewport in ({"width": 1280, "height": 800}, {"width": 390, "height": 844}):
        await page_jan.set_viewport_size(viewport)
        assert await violations(page_jan) == [], f"the chat panel at {viewport}"
        assert await page_jan.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        box = await page_jan.get_by_role("button", name="Wyślij").bounding_box()
        assert box is not None and box["x"] + box["width"] <= viewport["width"] and box["height"] >= 44
        await page_jan.screenshot(path=str(ARTIFACTS / f"browser-chat-{viewport['width']}.png"))
    await page_jan.keyboard.press("Escape")  # closes the panel, the focus back on its toggle
    assert await page_jan.locator("#chat-panel").is_hidden()
    assert await page_jan.evaluate("document.activeElement.id") == "chat-toggle"
    await page_jan.set_viewport_size({"width": 1000, "height": 700})

    # Raised hands: Anna first, then Ewa; everyone sees the queue in that order, and badges on tiles.
    hand_anna = page_anna.get_by_role("button", name="Podnieś rękę")
    await hand_anna.click()
    await until(page_anna, "() => document.getElementById('hand-button').getAttribute('aria-pressed') === 'true'",
                what="Anna's hand up", node=node)
    await page_jan.get_by_role("heading", name="Podniesione ręce (1)").wait_for()
    await page_ewa.get_by_role("button", name="Podnieś rękę").click()
    await page_jan.get_by_role("heading", name="Podniesione ręce (2)").wait_for()
    assert await page_jan.evaluate(HANDS_JS) == ["Anna Nowak", "Ewa Lis"]
    await until(page_anna, f"() => JSON.stringify(({HANDS_JS})()) === JSON.stringify(['Anna Nowak (Ty)', 'Ewa Lis'])",
                what="the queue at Anna", node=node)
    badge = page_jan.locator(f'.tile[data-participant-id="{ewa["id"]}"] .badge.hand')
    assert await badge.inner_text() == "ręka podniesiona (2)"
    assert "Anna Nowak podnosi rękę." in await page_jan.locator("#announcer").inner_text()
    assert await page_anna.get_by_role("button", name="Opuść rękę").count() == 0  # only a host lowers others'
    assert await violations(page_jan) == [], "the host's page with raised hands"

    # The host lowers Anna's hand: she is told, her toggle is up again, Ewa is first.
    await page_jan.get_by_role("button", name="Opuść rękę Anna Nowak").click()
    await until(page_anna, "() => document.getElementById('hand-button').getAttribute('aria-pressed') === 'false'",
                what="Anna's hand lowered", node=node)
    await until(page_anna, "() => document.getElementById('announcer').textContent.includes("
                "'Twoja ręka jest opuszczona.')", what="told", node=node)
    await until(page_ewa, f"() => JSON.stringify(({HANDS_JS})()) === JSON.stringify(['Ewa Lis (Ty)'])",
                what="Ewa first", node=node)
    assert await page_jan.locator(f'.tile[data-participant-id="{ewa["id"]}"] .badge.hand').inner_text() == (
        "ręka podniesiona (1)")
    assert await page_jan.locator(f'.tile[data-participant-id="{anna["id"]}"] .badge.hand').is_hidden()
    for page in (page_jan, page_anna, page_ewa):
        assert page.konsylium_errors == []  # type: ignore[attr-defined]
