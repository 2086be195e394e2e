"""WCAG 2.1 A/AA rules that a machine can check (axe-core), on every view, at desktop and phone width.

axe-core is a dev dependency of web/ (`npm ci --prefix web` installs it); it is
injected from disk, never served by the node.
"""

from __future__ import annotations

from playwright.async_api import Browser

from tests.browser.conftest import book, join, new_page, until, violations
from tests.processes import ServerProcess


async def test_every_view_passes_axe_on_desktop_and_phone(node: ServerProcess, browser: Browser) -> None:
    room = book(node, [("Jan Kowalski", "host"), ("Anna Nowak", "member")], title="Narada „Budżet 2027”")
    jan, anna = room["participants"]
    page_jan = await join(browser, jan, bypass_csp=True)  # axe-core is injected inline

    for viewport in ({"width": 1280, "height": 800}, {"width": 360, "height": 740}):
        page = await new_page(browser, viewport=viewport, bypass_csp=True)
        await page.goto(anna["join_url"])
        await page.get_by_text("Kamera i mikrofon działają.").wait_for()
        assert await violations(page) == [], f"pre-join at {viewport}"
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        await page.get_by_role("button", name="Dołącz", exact=True).click()
        await until(page, f"""() => {{
            const v = document.querySelector('video[data-participant-id="{jan["id"]}"]');
            return v && v.videoWidth > 0;
        }}""", what="Jan's video", node=node)
        assert await violations(page) == [], f"room at {viewport}"
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        # The participant panel (panel.js): a member's, then the host's with its controls.
        await page.get_by_role("button", name="Uczestnicy (2)").click()
        await page.get_by_role("heading", name="Lista uczestników (2)").wait_for()
        assert await violations(page) == [], f"participant panel at {viewport}"
        await page.keyboard.press("Escape")
        await page_jan.set_viewport_size(viewport)
        await page_jan.get_by_role("button", name="Uczestnicy (2)").click()
        await page_jan.get_by_role("button", name="Usuń Anna Nowak", exact=True).wait_for()
        assert await violations(page_jan) == [], f"a host's participant panel at {viewport}"
        assert await page_jan.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await page_jan.get_by_role("button", name="Zamknij listę").click()

        # The chat panel (chat.js), opened from the control bar, with a message in it.
        await page.locator("#chat-toggle").click()
        await page.get_by_label("Wiadomość do wszystkich").fill("Dzień dobry")
        await page.keyboard.press("Enter")
        await page.locator("#chat-list .chat-item").last.wait_for()  # the first round's is in the history
        assert await violations(page) == [], f"chat panel at {viewport}"
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await page.get_by_role("button", name="Zamknij czat").click()

        await page.get_by_role("button", name="Opuść spotkanie").click()
        await page.get_by_role("heading", name="Nie jesteś już w spotkaniu").wait_for()
        assert await violations(page) == [], f"end view at {viewport}"
        await page.context.close()

    # The server's notice pages use the same stylesheet.
    notice = await new_page(browser, bypass_csp=True)
    response = await notice.goto(f"{node.url}/join/{room['id']}?t=forged")
    assert response is not None and response.status == 401
    assert await violations(notice) == [], "notice page"
    await page_jan.context.close()
