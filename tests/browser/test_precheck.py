"""The pre-call check in real Chromium with fake camera and microphone (docs/web-client.md, "Pre-call check"):
a consultation's patient cannot press "Dołącz" before the check has a verdict; the meter moves with the fake
microphone, the test tone plays and is confirmed, the connection test measures this node, the verdict is
said in Polish; the result is kept (the integrator's API shows it) and the doctor sees it next to the waiting
patient in the lobby panel. Elsewhere the check is offered, not forced. The page passes axe-core."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.async_api import Browser, Route

from tests.browser.conftest import API_KEY, ARTIFACTS, book, join, new_page, until, violations
from tests.processes import ServerProcess


def prechecks(node: ServerProcess, room_id: str) -> dict[str, Any]:
    request = urllib.request.Request(f"{node.url}/api/v1/rooms/{room_id}/prechecks",
                                     headers={"Authorization": f"Bearer {API_KEY}"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 200
        view: dict[str, Any] = json.load(resp)
    return view


async def test_a_patient_checks_devices_and_connection_and_the_doctor_sees_the_result(
    node: ServerProcess, browser: Browser
) -> None:
    room = book(node, [("dr Anna Lekarz", "host", "administration"), ("Jan Pacjent", "member", "citizen")],
                model="A2C", kind="consultation", title="Konsultacja kardiologiczna")
    doctor, patient = room["participants"]
    page_doctor = await join(browser, doctor)
    page = await new_page(browser, bypass_csp=True)  # axe-core is injected inline
    # The result is held on its way until the page has been looked at (on loopback the check is quick).
    sent, release = asyncio.Event(), asyncio.Event()

    async def hold(route: Route) -> None:
        sent.set()
        await release.wait()
        await route.continue_()

    await page.route("**/api/v1/precheck/result", hold)
    await page.goto(patient["join_url"])

    # The check runs by itself; "Dołącz" waits for it and says why.
    await page.get_by_role("heading", name="Sprawdzenie sprzętu i połączenia").wait_for()
    join_button = page.get_by_role("button", name="Dołącz", exact=True)
    await asyncio.wait_for(sent.wait(), 30)
    assert await join_button.is_disabled()
    assert await join_button.get_attribute("aria-describedby") == "precheck-gate"
    assert "zadziała po sprawdzeniu" in await page.locator("#precheck-gate").inner_text()
    verdict = page.locator(".precheck-verdict")
    assert await verdict.inner_text() == "Sprawdzanie…"
    release.set()
    await until(page, "() => document.querySelector('.precheck-verdict').dataset.verdict === 'video'",
                timeout=30, what="the verdict", node=node)
    assert await verdict.get_attribute("role") == "status"
    assert "Wizyta wideo zadziała." in await verdict.inner_text()
    assert await join_button.is_enabled()
    assert not await page.locator("#precheck-gate").is_visible()
    assert await join_button.get_attribute("aria-describedby") is None
    steps = await page.evaluate("() => Object.fromEntries([...document.querySelectorAll('.precheck-step')]"
                                ".map((li) => [li.dataset.step, [li.dataset.state, li.textContent]]))")
    assert steps["camera"][0] == "ok" and steps["microphone"][0] == "ok" and steps["connection"][0] == "ok", steps
    assert "opóźnienie" in steps["connection"][1] and "bit/s" in steps["connection"][1], steps

    # The speaker: a short tone (Web Audio) and "Słyszę dźwięk"; the click also lets the meter's audio run,
    # and the fake microphone's beeps move it.
    await page.get_by_role("button", name="Odtwórz dźwięk testowy").click()
    await until(page, "() => window.konsylium.precheck.context?.state === 'running'", what="Web Audio running")
    await until(page, "() => document.getElementById('precheck-level').value > 0.05", timeout=15,
                what="the level meter moving with the fake microphone", node=node)
    await page.get_by_role("button", name="Słyszę dźwięk").click()
    await until(page, "() => window.konsylium.precheck.result?.speaker === true", what="the speaker's answer kept")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "browser-precheck.png"), full_page=True)
    for viewport in ({"width": 390, "height": 844}, {"width": 1000, "height": 700}):
        await page.set_viewport_size(viewport)
        assert await violations(page) == [], f"the pre-call check at {viewport}"
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # Kept with the visit: the integrator's API shows the latest result (the speaker's answer included).
    [item] = prechecks(node, room["id"])["items"]
    assert item["participant_id"] == patient["id"]
    assert (item["camera"], item["microphone"], item["speaker"], item["verdict"]) == (True, True, True, "video")
    assert 0 <= item["rtt_ms"] <= 300 and item["upstream_kbps"] >= 500, item
    assert len(item["earlier"]) == 1 and item["earlier"][0]["speaker"] is None
    assert datetime.fromisoformat(item["at"]) > datetime.now(UTC) - timedelta(minutes=1)

    # The patient goes to the waiting room; the doctor sees the result next to them in the lobby panel.
    await join_button.click()
    await until(page, "() => window.konsylium?.view === 'waiting'", what="the waiting view", node=node)
    assert await page.evaluate("() => window.konsylium.precheck.context") is None  # the meter's audio is freed
    line = page_doctor.locator(f'#lobby-list li[data-participant-id="{patient["id"]}"] .lobby-precheck')
    await until(page_doctor, "(pid) => document.querySelector(`#lobby-list li[data-participant-id='${pid}']"
                " .lobby-precheck`)?.dataset.verdict === 'video'", patient["id"], what="the doctor's line",
                node=node)
    text = await line.inner_text()
    assert text.startswith("Test sprzętu: wideo zadziała · opóźnienie "), text
    await page_doctor.screenshot(path=str(ARTIFACTS / "browser-precheck-host.png"))
    assert page.konsylium_errors == [] and page_doctor.konsylium_errors == []  # type: ignore[attr-defined]


async def test_elsewhere_the_check_is_offered_not_forced(node: ServerProcess, browser: Browser) -> None:
    room = book(node, [("Jan Kowalski", "host"), ("Anna Nowak", "member")], title="Narada")
    anna = room["participants"][1]
    page = await new_page(browser, locale="en-GB", headers={"Accept-Language": "en"})
    await page.goto(anna["join_url"])
    join_button = page.get_by_role("button", name="Join", exact=True)
    await join_button.wait_for()
    assert await join_button.is_enabled()
    assert not await page.get_by_role("heading", name="Device and connection check").is_visible()
    await page.get_by_role("button", name="Check your devices and connection").click()
    await until(page, "() => ['video', 'audio_only', 'not_working'].includes("
                "document.querySelector('.precheck-verdict').dataset.verdict)", timeout=30, what="the verdict",
                node=node)
    assert "A video visit will work." in await page.locator(".precheck-verdict").inner_text()
    [item] = prechecks(node, room["id"])["items"]
    assert item["participant_id"] == anna["id"] and item["speaker"] is None
    await join_button.click()
    await until(page, "() => window.konsylium?.state === 'connected'", what="connected", node=node)
