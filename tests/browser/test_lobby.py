"""The lobby in real Chromium (docs/web-client.md, "Lobby"): a citizen in an A2C room waits, sees and
receives nothing, and is let in by the official; another is denied, told why, and cannot come back
with the same link while the room is live. The host's page with people waiting passes axe-core."""

from __future__ import annotations

import re
import urllib.request
from typing import Any

from playwright.async_api import Browser, Page

from tests.browser.conftest import (
    ARTIFACTS,
    VIDEO_PLAYING_JS,
    book,
    join,
    new_page,
    until,
    violations,
)
from tests.processes import ServerProcess

# Videos on the page that play a track that is not the page's own camera or microphone.
REMOTE_VIDEOS_JS = """() => {
  const own = new Set((window.konsylium.localStream?.getTracks() || []).map((t) => t.id));
  return [...document.querySelectorAll('video')]
    .filter((v) => v.srcObject && v.srcObject.getTracks().some((t) => !own.has(t.id))).length;
}"""

# What a waiting page has of the call's media: nothing, however long it waits.
NOTHING_RECEIVED_JS = """() => {
  const k = window.konsylium;
  return {subscriber: k.subscriber, publisher: k.publisher, offers: k.call.ignoredOffers,
          tracks: k.call.trackInfo.size, view: k.view, state: k.state};
}"""


def forwarded_packets(node: ServerProcess) -> float:
    """The node's SFU counter of RTP packets forwarded to subscribers (every room of the node)."""
    with urllib.request.urlopen(f"{node.url}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    found = re.search(r"^konsylium_forwarded_packets_total (\S+)$", text, re.M)
    assert found is not None, "the node exposes konsylium_forwarded_packets_total"
    return float(found.group(1))


def a2c_room(node: ServerProcess, *citizens: str) -> dict[str, Any]:
    """An A2C room open now: the official Jan Kowalski hosts, each of *citizens* is a citizen member."""
    people: list[tuple[str, str] | tuple[str, str, str]] = [("Jan Kowalski", "host", "administration")]
    people += [(name, "member", "citizen") for name in citizens]
    return book(node, people, model="A2C", title="Wizyta w urzędzie")


async def join_waiting(browser: Browser, participant: dict[str, Any], **options: Any) -> Page:
    """Open a citizen's join_url, press "Dołącz", and wait until the page says they wait in the lobby."""
    page = await new_page(browser, **options)
    await page.goto(participant["join_url"])
    await page.get_by_role("button", name="Dołącz", exact=True).click()
    await until(page, "() => window.konsylium?.view === 'waiting'", what="the waiting view")
    return page


async def lobby_names(page: Page) -> list[str]:
    names: list[str] = await page.evaluate(
        "() => [...document.querySelectorAll('#lobby-list .lobby-name')].map((e) => e.textContent)")
    return names


async def test_a_citizen_waits_until_the_official_admits_them_then_both_see_each_other(
    node: ServerProcess, browser: Browser
) -> None:
    room = a2c_room(node, "Anna Nowak")
    jan, anna = room["participants"]
    page_jan = await join(browser, jan)
    page_anna = await join_waiting(browser, anna, bypass_csp=True)  # axe-core is injected inline

    # The citizen is told in plain words that they wait, sees their own camera and nothing else.
    await page_anna.get_by_role("heading", name="Poczekalnia: Wizyta w urzędzie").wait_for()
    status = await page_anna.get_by_role("status").filter(has_text="Gospodarz").inner_text()
    assert "Czekasz w poczekalni" in status and "Gospodarz wpuści Cię za chwilę" in status
    assert await page_anna.locator("#conn-state").inner_text() == "W poczekalni"
    await until(page_anna, "() => document.getElementById('waiting-preview').videoWidth > 0",
                what="the citizen's own preview", node=node)
    ARTIFACTS.mkdir(exist_ok=True)
    await page_anna.screenshot(path=str(ARTIFACTS / "browser-lobby-waiting.png"))
    for viewport in ({"width": 390, "height": 844}, {"width": 1000, "height": 700}):
        await page_anna.set_viewport_size(viewport)
        assert await violations(page_anna) == [], f"the waiting view at {viewport}"
        assert await page_anna.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # The official sees who waits: name, party in words, how long (announced on arrival).
    item = page_jan.locator(f'#lobby-list li[data-participant-id="{anna["id"]}"]')
    await item.wait_for(timeout=10_000)
    await page_jan.get_by_role("heading", name="Poczekalnia (1)").wait_for()
    assert "mieszkaniec" in await item.inner_text()
    waited_before = await item.locator(".lobby-waited").inner_text()
    assert re.fullmatch(r"czeka \d+ s", waited_before), waited_before
    await until(page_jan, "() => document.getElementById('announcer').textContent"
                ".includes('Anna Nowak czeka w poczekalni.')", what="the arrival announced", node=node)
    # Nobody but the hosts learns of her: no tile on the official's page.
    assert await page_jan.locator(f'.tile[data-participant-id="{anna["id"]}"]').count() == 0

    # While Jan publishes, for several seconds, nothing reaches the waiting page and it sends nothing;
    # the SFU says so too: it forwards no packet (Jan is the only one publishing and nobody else is in).
    await until(page_jan, "() => window.konsylium.publisher?.connectionState === 'connected'", what="Jan publishing",
                node=node)
    forwarded_before = forwarded_packets(node)
    for _ in range(6):
        got = await page_anna.evaluate(NOTHING_RECEIVED_JS)
        assert got == {"subscriber": None, "publisher": None, "offers": 0, "tracks": 0,
                       "view": "waiting", "state": "waiting"}, got
        assert await page_anna.evaluate(REMOTE_VIDEOS_JS) == 0
        await page_anna.wait_for_timeout(1000)
    assert forwarded_packets(node) == forwarded_before, "the SFU forwarded media while the only other one waited"
    # The waiting time goes on by itself.
    await until(page_jan, "([pid, before]) => document.querySelector("
                "`#lobby-list li[data-participant-id='${pid}'] .lobby-waited`).textContent !== before",
                [anna["id"], waited_before], what="the waiting time updated", node=node)

    # One person waits: no "admit all". The official admits her from the keyboard.
    assert await page_jan.get_by_role("button", name="Wpuść wszystkich").count() == 0
    admit = page_jan.get_by_role("button", name="Wpuść Anna Nowak", exact=True)
    assert await page_jan.get_by_role("button", name="Odrzuć Anna Nowak", exact=True).count() == 1
    await admit.focus()
    await page_jan.keyboard.press("Enter")

    # Her page becomes the room, and both play each other's video.
    await until(page_anna, "() => window.konsylium.view === 'room'", what="the room after admission", node=node)
    await until(page_anna, VIDEO_PLAYING_JS, jan["id"], what="Jan's video at Anna", node=node)
    await until(page_jan, VIDEO_PLAYING_JS, anna["id"], what="Anna's video at Jan", node=node)
    await until(page_anna, "() => window.konsylium.state === 'connected'", what="Anna connected", node=node)
    # The counter counts: now the SFU forwards to her (media workers report their totals every second).
    for _ in range(50):
        if forwarded_packets(node) > forwarded_before:
            break
        await page_anna.wait_for_timeout(100)
    assert forwarded_packets(node) > forwarded_before, "the SFU's counter never showed her media"
    assert "Gospodarz wpuścił Cię do spotkania" in await page_anna.locator("#announcer").inner_text()
    await page_jan.get_by_role("heading", name="Poczekalnia (0)").wait_for()
    assert await lobby_names(page_jan) == []
    # The keyboard stays in the panel once the admitted person's row is gone.
    assert await page_jan.evaluate("document.getElementById('lobby-panel').contains(document.activeElement)")


async def test_a_denied_citizen_is_told_and_the_same_link_cannot_come_back(
    node: ServerProcess, browser: Browser
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    room = a2c_room(node, "Anna Nowak", "Piotr Zieliński")
    jan, anna, piotr = room["participants"]
    page_jan = await join(browser, jan, bypass_csp=True)  # axe-core is injected inline
    page_anna = await join_waiting(browser, anna)
    page_piotr = await join_waiting(browser, piotr)

    # Two wait, in arrival order, with "admit all" offered (never automatic).
    await until(page_jan, "() => document.querySelectorAll('#lobby-list li').length === 2",
                what="two people in the lobby", node=node)
    assert await lobby_names(page_jan) == ["Anna Nowak", "Piotr Zieliński"]
    await page_jan.get_by_role("button", name="Wpuść wszystkich (2)").wait_for()

    # axe-core on the host's page with the lobby showing, at desktop and phone width.
    for viewport in ({"width": 1280, "height": 800}, {"width": 390, "height": 844}):
        await page_jan.set_viewport_size(viewport)
        assert await violations(page_jan) == [], f"host page with the lobby at {viewport}"
        assert await page_jan.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        box = await page_jan.get_by_role("button", name="Odrzuć Piotr Zieliński").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
        assert box["height"] >= 44
        await page_jan.screenshot(path=str(ARTIFACTS / f"browser-lobby-host-{viewport['width']}.png"))

    # The official denies Piotr with a message: his page says so, with the host's words, and ends.
    await page_jan.get_by_label("Wiadomość dla osoby, której nie wpuścisz").fill("Zapraszamy w czwartek o 10:00.")
    await page_jan.get_by_role("button", name="Odrzuć Piotr Zieliński", exact=True).click()
    await page_piotr.get_by_role("heading", name="Nie wpuszczono Cię do spotkania").wait_for(timeout=10_000)
    told = await page_piotr.locator("#end-text").inner_text()
    assert "Gospodarz nie wpuścił Cię do spotkania." in told and "Zapraszamy w czwartek o 10:00." in told, told
    assert await page_piotr.get_by_role("button", name="Dołącz ponownie").count() == 0
    assert await page_piotr.evaluate("window.konsylium.call.closed") is True
    assert await page_piotr.evaluate("window.konsylium.localStream") is None  # camera released
    assert await page_piotr.evaluate("window.konsylium.call.finalCode") == "denied"
    await until(page_jan, "() => document.querySelectorAll('#lobby-list li').length === 1",
                what="Piotr gone from the lobby", node=node)
    assert await page_jan.get_by_role("button", name="Wpuść wszystkich").count() == 0
    # The waiting citizen saw nothing of this.
    assert await page_anna.evaluate("window.konsylium.view") == "waiting"

    # Reopening the same link while the room is live is refused, in plain words.
    again = await new_page(browser)
    response = await again.goto(piotr["join_url"])
    assert response is not None and response.status == 200
    await again.get_by_role("button", name="Dołącz", exact=True).click()
    await until(again, "() => window.konsylium.view === 'end'", what="the refusal", node=node)
    await again.get_by_role("heading", name="Nie można dołączyć").wait_for(timeout=1000)
    assert await again.locator("#end-text").inner_text() == (
        "Gospodarz nie wpuścił Cię do tego spotkania, więc z tym linkiem nie można dołączyć ponownie.")
    assert await again.get_by_role("button", name="Dołącz ponownie").count() == 0

    # Anna is still let in afterwards, and both see each other.
    await page_jan.get_by_role("button", name="Wpuść Anna Nowak", exact=True).click()
    await until(page_anna, VIDEO_PLAYING_JS, jan["id"], what="Jan's video at Anna", node=node)
    await until(page_jan, VIDEO_PLAYING_JS, anna["id"], what="Anna's video at Jan", node=node)


async def test_a_locked_meeting_puts_even_an_official_in_the_lobby_until_admitted(
    node: ServerProcess, browser: Browser
) -> None:
    room = book(node, [("Jan Kowalski", "host"), ("Ewa Lis", "member")])
    jan, ewa = room["participants"]
    page_jan = await join(browser, jan)
    await page_jan.get_by_text("Nikt nie czeka.").wait_for()
    lock = page_jan.get_by_role("button", name="Zablokuj spotkanie")
    assert await lock.get_attribute("aria-pressed") == "false"
    await lock.click()
    await until(page_jan, "() => document.getElementById('lobby-lock').getAttribute('aria-pressed') === 'true'",
                what="the room locked", node=node)
    await page_jan.get_by_text("Spotkanie jest zablokowane").wait_for()
    assert "Spotkanie zablokowane." in await page_jan.locator("#announcer").inner_text()

    # An official of an A2A room, who would walk in, waits while the room is locked.
    page_ewa = await join_waiting(browser, ewa)
    item = page_jan.locator(f'#lobby-list li[data-participant-id="{ewa["id"]}"]')
    await item.wait_for(timeout=10_000)
    assert "urząd" in await item.inner_text()
    # Unlocking lets nobody in by itself.
    await lock.click()
    await until(page_jan, "() => document.getElementById('lobby-lock').getAttribute('aria-pressed') === 'false'",
                what="the room unlocked", node=node)
    await page_ewa.wait_for_timeout(500)
    assert await page_ewa.evaluate("window.konsylium.view") == "waiting"
    await page_jan.get_by_role("button", name="Wpuść Ewa Lis", exact=True).click()
    await until(page_ewa, VIDEO_PLAYING_JS, jan["id"], what="Jan's video at Ewa", node=node)
    await until(page_jan, VIDEO_PLAYING_JS, ewa["id"], what="Ewa's video at Jan", node=node)


async def test_a_citizen_who_arrives_first_is_told_the_host_has_not_joined_yet(
    node: ServerProcess, browser: Browser
) -> None:
    room = a2c_room(node, "Anna Nowak")
    jan, anna = room["participants"]
    page_anna = await join_waiting(browser, anna)
    status = page_anna.locator("#waiting-text")
    await until(page_anna, "() => document.getElementById('waiting-text').textContent"
                ".includes('Gospodarz jeszcze nie dołączył')", what="told no host is here yet", node=node)
    page_jan = await join(browser, jan)  # the official arrives: nobody is let in by that alone
    await until(page_anna, "() => document.getElementById('waiting-text').textContent"
                ".includes('Gospodarz wpuści Cię za chwilę')", what="told the host is here", node=node)
    assert "W poczekalni" in await page_anna.locator("#conn-state").inner_text()
    assert "Czekasz w poczekalni" in await status.inner_text()
    await page_jan.get_by_role("button", name="Wpuść Anna Nowak").wait_for()
