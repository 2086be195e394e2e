"""Debian's Chromium for the browser benchmarks: launch flags, booking a room, a publishing page.

Shared by bench_join and bench_admit so that both time the same browser, started the same way,
and decide "first remote frame" by the same test (``videoWidth`` known and ``currentTime`` moving).
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, Playwright

from loadtests.node import BENCH_KEY

__all__ = ["ARGS", "CHROMIUM", "FRAME_PLAYING_JS", "book", "join_publishing", "launch"]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        "--allow-loopback-in-peer-connection"]

# A JS expression over `v` (the participant's <video> or null): its first decoded frame is shown.
FRAME_PLAYING_JS = "(v && v.videoWidth > 0 && v.currentTime > 0)"


async def launch(pw: Playwright) -> Browser:
    """Headless Debian Chromium with a fake camera and microphone, granted without asking."""
    return await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def book(url: str, model: str, people: list[tuple[str, str, str]], title: str = "Join timing") -> dict[str, Any]:
    """Book a meeting open now; *people* are (display name, role, party). Blocking: run in a thread."""
    now = datetime.now(UTC)
    body = {"title": title, "kind": "meeting", "model": model, "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
            "participants": [{"display_name": n, "role": r, "party": p} for n, r, p in people]}
    request = urllib.request.Request(f"{url}/api/v1/rooms", data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {BENCH_KEY}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        room: dict[str, Any] = json.load(resp)
    return room


async def join_publishing(ctx: BrowserContext, participant: dict[str, Any], timeout: float = 10.0) -> Page:
    """Open *participant*'s join link, press "Dołącz" and wait until their publish connection is up."""
    page = await ctx.new_page()
    await page.goto(participant["join_url"])
    await page.get_by_role("button", name="Dołącz", exact=True).click()
    for _ in range(int(timeout / 0.05)):
        if await page.evaluate("() => window.konsylium?.publisher?.connectionState === 'connected'"):
            return page
        await asyncio.sleep(0.05)
    raise TimeoutError(f"the publisher was not connected after {timeout:.0f} s")
