"""Guest invites and the recording gate in real Chromium (docs/web-client.md, "Guest invites" and
"Recording consent"): a host makes an invite from the call, the guest opens it, gives a name, joins,
waits in the lobby (marked as an invited guest on the host's page) and is let in; an expired invite
shows its page; recording is refused until both people agreed in the dialog, then both pages show the
red "Nagrywanie" indicator. The pages pass axe-core with the dialog and the invite panel open."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from typing import Any

from playwright.async_api import Browser, Page

from tests.browser.conftest import API_KEY, book, join, new_page, until, violations
from tests.processes import ServerProcess


def api(node: ServerProcess, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(f"{node.url}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.load(resp) if resp.status != 204 else None


async def state_of(page: Page) -> str:
    state: str = await page.evaluate("() => window.konsylium?.state")
    return state


async def test_a_guest_redeems_an_invite_waits_and_is_let_in(node: ServerProcess, browser: Browser) -> None:
    room = book(node, [("dr Anna Nowak", "host"), ("Jan Kowalski", "member")])  # A2A: only a guest waits
    anna, _ = room["participants"]
    host = await join(browser, anna, bypass_csp=True)  # axe-core is injected inline
    panel = host.locator("#invite-panel")
    await panel.wait_for()
    assert await panel.get_attribute("open") is None, "folded until a host wants a link"
    await host.get_by_text("Zaproś gościa", exact=True).click()
    await host.get_by_label("Kogo zapraszasz").select_option("interpreter")
    await host.get_by_label("Zaproszenie ważne przez").select_option("15")
    await host.get_by_role("button", name="Utwórz zaproszenie").click()
    link = host.get_by_label("Link zaproszenia")
    await link.wait_for()
    url = await link.input_value()
    assert url.startswith(f"{node.url}/invite/")
    assert "Tłumacz, ważne do" in await host.locator("#invite-list").inner_text()
    assert await violations(host) == []

    guest = await new_page(browser)
    await guest.goto(url)
    await guest.get_by_role("heading", name="Zaproszenie na wizytę").wait_for()
    assert "jako: tłumacz" in await guest.locator("main").inner_text()
    await guest.get_by_label("Twoje imię i nazwisko (nieobowiązkowe)").fill("Maria Tłumacz")
    await guest.get_by_role("button", name="Dołącz", exact=True).click()
    await guest.wait_for_url(f"**/join/{room['id']}?t=*")
    await guest.get_by_role("button", name="Dołącz", exact=True).click()
    await until(guest, "() => window.konsylium?.state === 'waiting'", what="the guest waits", node=node)

    item = host.locator("#lobby-list .lobby-item")
    await item.wait_for()
    assert "gość z zaproszenia" in await item.inner_text() and "Maria Tłumacz" in await item.inner_text()
    await host.get_by_role("button", name="Wpuść Maria Tłumacz").click()
    await until(guest, "() => window.konsylium?.state === 'connected'", what="the guest in the call", node=node)
    await until(host, "() => document.querySelectorAll('#tiles > li').length === 2", what="two tiles", node=node)

    again = await new_page(browser)
    response = await again.goto(url)  # used: its own page, nothing more
    assert response is not None and response.status == 410
    await again.get_by_role("heading", name="Zaproszenie zostało już wykorzystane").wait_for()
    assert getattr(guest, "konsylium_errors", []) == [] and getattr(host, "konsylium_errors", []) == []


async def test_an_expired_invite_shows_a_plain_page(node: ServerProcess, browser: Browser) -> None:
    room = book(node, [("dr Anna Nowak", "host"), ("Jan Kowalski", "member")])
    invite = api(node, "POST", f"/api/v1/rooms/{room['id']}/invites",
                 {"purpose": "family_member", "expires_in_minutes": 5})
    # Five minutes pass (the node's store file, written as its clock would have it).
    with sqlite3.connect(node.log_path.parent / "konsylium.sqlite3", timeout=10) as conn:
        conn.execute("UPDATE guest_invites SET expires_us = created_us WHERE id = ?", (invite["id"],))
    page = await new_page(browser, bypass_csp=True)
    response = await page.goto(invite["url"])
    assert response is not None and response.status == 410
    await page.get_by_role("heading", name="Zaproszenie wygasło").wait_for()
    assert await page.get_by_role("button", name="Dołącz").count() == 0
    assert await violations(page) == []
    await page.get_by_role("link", name="English").click()
    await page.get_by_role("heading", name="Invitation expired").wait_for()


async def test_recording_waits_for_both_then_shows_the_indicator(node: ServerProcess, browser: Browser) -> None:
    room = book(node, [("dr Anna Nowak", "host"), ("Jan Kowalski", "member")])
    anna, jan = room["participants"]
    host = await join(browser, anna, bypass_csp=True)
    patient = await join(browser, jan)
    record = host.get_by_role("button", name="Nagrywaj")
    await record.click()  # nobody agreed yet: refused, and both are asked
    await host.get_by_text("Nie można nagrywać: nie wszyscy obecni zgodzili się na nagrywanie.").wait_for()
    await host.get_by_text("Brak zgody na nagrywanie: 2 os.").wait_for()
    for page in (host, patient):
        await page.get_by_role("dialog", name="Czy zgadzasz się na nagrywanie tej wizyty?").wait_for()
    assert await violations(host) == []
    await host.get_by_role("button", name="Zgadzam się", exact=True).click()
    await host.get_by_text("Brak zgody na nagrywanie: 1 os.").wait_for()
    await record.click()  # Jan has not answered: still refused
    await until(host, "() => document.querySelectorAll('#alerts .alert').length >= 2", what="refused again",
                node=node)
    assert await host.locator("#recording-indicator").is_hidden()

    await patient.get_by_role("button", name="Zgadzam się", exact=True).click()
    await host.locator("#recording-note").wait_for(state="hidden")
    await record.click()
    for page in (host, patient):
        indicator = page.get_by_role("status").filter(has_text="Nagrywanie")
        await indicator.wait_for()
        assert await page.locator("#recording-indicator .rec-dot").is_visible()
    assert await host.get_by_role("button", name="Zatrzymaj nagrywanie").get_attribute("aria-pressed") == "true"
    gate = api(node, "GET", f"/api/v1/rooms/{room['id']}/recording")
    assert gate["active"] is True and {c["participant_id"] for c in gate["consents"]} == {anna["id"], jan["id"]}

    await patient.get_by_role("button", name="Wycofaj zgodę na nagrywanie").click()  # paused for everyone
    await host.get_by_text("Nagrywanie wstrzymane: czekamy na zgodę wszystkich obecnych").wait_for()
    await host.get_by_role("button", name="Zatrzymaj nagrywanie").click()
    await until(host, "() => document.getElementById('recording-indicator').hidden", what="stopped", node=node)
    assert await state_of(patient) == "connected"
