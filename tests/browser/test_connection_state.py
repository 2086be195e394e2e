"""What the page says about its connection, and how it comes back by itself (docs/web-client.md).

The page says "Połączono" only once its media is connected; after the server hangs up for
no final reason (a media worker died) it rejoins by itself, with backoff, showing
"Łączenie ponownie…"; after a final reason it says why and stays out.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.browser.conftest import VIDEO_PLAYING_JS, book, cancel, join, new_page, serving, until
from tests.processes import ServerProcess

# Chromium that can never connect media: ICE limited to relays, and there are none.
NO_ICE_JS = """
(() => {
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(config = {}) { super({...config, iceTransportPolicy: 'relay'}); }
  };
})();
"""

# Record every state the connection indicator shows from now on.
WATCH_STATES_JS = """() => {
  const conn = document.getElementById('conn');
  window.__states = [conn.dataset.state];
  new MutationObserver(() => window.__states.push(conn.dataset.state))
    .observe(conn, {attributes: true, attributeFilter: ['data-state']});
  window.__welcomeBefore = window.konsylium.call.lastWelcome;
}"""


@pytest.fixture(scope="module")
def one_worker_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A node whose rooms all live in one media worker process."""
    with serving(tmp_path_factory.mktemp("one-worker"), {"KONSYLIUM_WORKERS": "1"}) as proc:
        yield proc


def media_workers(node: ServerProcess) -> list[int]:
    """Process ids of the node's media worker processes (its children running signalling.media_worker)."""
    pids = []
    for task in Path(f"/proc/{node.proc.pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes()
            except FileNotFoundError:
                continue
            if b"signalling.media_worker" in command:
                pids.append(int(child))
    return pids


async def test_the_page_says_connected_only_once_its_media_is_connected(
    node: ServerProcess, browser: Browser
) -> None:
    room = book(node, [("Jan Kowalski", "host")])
    page = await new_page(browser)
    await page.add_init_script(NO_ICE_JS)
    await page.goto(room["participants"][0]["join_url"])
    await page.get_by_role("button", name="Dołącz", exact=True).click()
    await until(page, "() => Boolean(window.konsylium.call?.lastWelcome)", what="welcome", node=node)
    await until(page, "() => window.konsylium.publisher?.remoteDescription", what="the publish answer", node=node)
    # The socket is up and the server answered, but no media can flow: never "Połączono".
    for _ in range(15):
        assert await page.locator("#conn-state").inner_text() == "Łączenie…"
        assert await page.evaluate("window.konsylium.state") == "connecting"
        await asyncio.sleep(0.2)
    assert await page.evaluate("window.konsylium.publisher.connectionState") != "connected"


async def test_both_pages_rejoin_by_themselves_when_the_media_worker_dies(
    one_worker_node: ServerProcess, browser: Browser
) -> None:
    node = one_worker_node
    room = book(node, [("Jan Kowalski", "host"), ("Anna Nowak", "member")])
    jan, anna = room["participants"]
    pages = {"jan": await join(browser, jan), "anna": await join(browser, anna)}
    pairs = [(pages["jan"], anna), (pages["anna"], jan)]
    for page, other in pairs:
        await until(page, VIDEO_PLAYING_JS, other["id"], what=f"{other['display_name']} before", node=node)
        await page.evaluate(WATCH_STATES_JS)
    [worker] = media_workers(node)

    os.kill(worker, signal.SIGKILL)
    loop = asyncio.get_running_loop()
    killed_at = loop.time()
    for page, other in pairs:
        # A new welcome (a new session), then the other's video again: no click anywhere.
        await until(page, "() => window.konsylium.call.lastWelcome !== window.__welcomeBefore",
                    what="a new welcome after the worker died", timeout=10, node=node)
        await until(page, VIDEO_PLAYING_JS, other["id"], what=f"{other['display_name']} after the restart",
                    timeout=max(1.0, 10 - (loop.time() - killed_at)), node=node)
    assert loop.time() - killed_at < 10
    for page, _ in pairs:
        assert await page.evaluate("window.konsylium.view") == "room"
        assert await page.evaluate("window.konsylium.call.closed") is False
        states = await page.evaluate("window.__states")
        assert "reconnecting" in states, states  # the page showed it was reconnecting
        await until(page, "() => window.konsylium.state === 'connected'", what="connected again", node=node)
        assert await page.locator("#reconnect-banner").is_hidden()
    assert media_workers(node) not in ([], [worker])  # a fresh worker carries the room


async def test_a_meeting_cancelled_during_the_call_ends_it_with_the_reason_and_no_rejoin(
    node: ServerProcess, browser: Browser
) -> None:
    room = book(node, [("Jan Kowalski", "host"), ("Anna Nowak", "member")])
    jan, anna = room["participants"]
    page = await join(browser, jan)
    other = await join(browser, anna)
    await until(page, VIDEO_PLAYING_JS, anna["id"], what="Anna's video", node=node)

    cancel(node, room["id"])
    for p in (page, other):
        await p.get_by_role("heading", name="Rozłączono").wait_for(timeout=10_000)
        assert await p.locator("#end-text").inner_text() == "To spotkanie zostało odwołane."
        assert await p.get_by_role("button", name="Dołącz ponownie").count() == 0
        assert await p.evaluate("window.konsylium.call.closed") is True
    # It stays ended: no reconnect attempt follows.
    await asyncio.sleep(2)
    assert await page.evaluate("window.konsylium.view") == "end"
    assert await page.evaluate("window.konsylium.socket.connected") is False
