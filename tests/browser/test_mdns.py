"""Publishers whose ICE host candidates are all mDNS `.local` names still reach the others.

Browsers hide their host addresses behind mDNS names when the page has no camera
permission: a viewer, a citizen who declined the camera, a page publishing a canvas. The
server cannot resolve those names, so it must still answer with its own candidates and
let the browser's checks reach it (peer-reflexive). Meanwhile the page must not say
"Połączono" before its media is connected.
"""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import Browser

from tests.browser.conftest import (
    CONN_JS,
    VIDEO_PLAYING_JS,
    EvaluatingPage,
    LaunchFirefox,
    book,
    join,
    join_firefox,
    new_page,
    until,
)
from tests.browser.firefox import FIREFOX_NO_PERMISSION
from tests.processes import ServerProcess

# The ICE host candidates of a page's local description on one of its peer connections.
HOST_CANDIDATES_JS = """(which) => {
  const pc = window.konsylium[which];
  const sdp = pc && pc.localDescription ? pc.localDescription.sdp : '';
  return sdp.split('\\r\\n').filter((l) => l.startsWith('a=candidate:') && l.includes(' typ host'))
    .map((l) => l.split(' ')[4]);
}"""

# Chromium publishing a canvas and an oscillator instead of camera and microphone: the page
# never asks for a device, so it has no permission and Chromium (without the fake prompt UI that
# grants it) hides its addresses.
CANVAS_MEDIA_JS = """
(() => {
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const canvas = Object.assign(document.createElement('canvas'), {width: 320, height: 180});
    const g = canvas.getContext('2d');
    let n = 0;
    setInterval(() => {
      g.fillStyle = `hsl(${(n += 7) % 360} 70% 50%)`;
      g.fillRect(0, 0, 320, 180);
    }, 40);
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    const out = audio.createMediaStreamDestination();
    tone.connect(out);
    tone.start();
    return new MediaStream([
      ...(constraints.video ? canvas.captureStream(25).getVideoTracks() : []),
      ...(constraints.audio ? out.stream.getAudioTracks() : []),
    ]);
  };
  navigator.mediaDevices.enumerateDevices = async () => [];
})();
"""


async def mdns_only(page: EvaluatingPage, which: str, node: ServerProcess) -> list[str]:
    """Wait for the page's *which* connection to have a local description; return its host candidates."""
    await until(page, HOST_CANDIDATES_JS, which, what=f"the {which}'s candidates", node=node)
    hosts: list[str] = await page.evaluate(HOST_CANDIDATES_JS, which)
    assert hosts and all(host.endswith(".local") for host in hosts), hosts
    return hosts


async def seen_while_honest(publisher_page: EvaluatingPage, viewer_page: EvaluatingPage, publisher_id: str,
                            node: ServerProcess, timeout: float = 20) -> None:
    """Wait until *viewer_page* plays the publisher's video; meanwhile the publisher's page may say
    "Połączono" only when its peer connections are connected."""
    seen: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        conn = await publisher_page.evaluate(CONN_JS)
        seen.append(conn)
        if conn["text"] == "Połączono":
            assert conn["publisher"] == "connected" and conn["subscriber"] in (None, "connected"), seen[-5:]
        if await viewer_page.evaluate(VIDEO_PLAYING_JS, publisher_id):
            return
        assert loop.time() < deadline, (
            f"the video of a publisher with only mDNS host candidates never played; its page said "
            f"{seen[-1]} (first: {seen[0]})\n{node.log()[-3000:]}")
        await asyncio.sleep(0.2)


async def test_a_firefox_page_without_camera_permission_never_claims_a_connection_it_lacks(
    node: ServerProcess, browser: Browser, firefox: LaunchFirefox
) -> None:
    """Firefox without camera permission offers only its default-route addresses as mDNS names.
    On this test bed the server's only media address is loopback, and Firefox never pairs a
    non-loopback candidate with a loopback one (nICEr's rule), so this media cannot connect here
    (the Chromium test below shows such an offer connecting; tests/browser/test_firefox_netns.py shows
    Firefox without permission exchanging media from a network namespace of its own). What the page
    says must follow."""
    room = book(node, [("Jan Kowalski", "host"), ("Anna Nowak", "member")])
    jan, anna = room["participants"]
    page_anna = await join(browser, anna)
    fox = await firefox(FIREFOX_NO_PERMISSION)
    page_jan = await join_firefox(fox, jan, wait="welcomed")

    await mdns_only(page_jan, "publisher", node)
    await until(page_jan, "() => Boolean(window.konsylium.subscriber?.localDescription)",
                what="the subscribe answer", node=node)
    await mdns_only(page_jan, "subscriber", node)
    states = []
    for _ in range(25):
        conn = await page_jan.evaluate(CONN_JS)
        states.append(conn)
        media_up = conn["publisher"] == "connected" and conn["subscriber"] in (None, "connected")
        assert (conn["text"] == "Połączono") == media_up, states[-5:]
        assert (conn["state"] == "connected") == media_up, states[-5:]
        await asyncio.sleep(0.2)
    assert await page_anna.evaluate("window.konsylium.state") == "connected"


async def test_a_chromium_page_publishing_a_canvas_is_seen_and_sees(
    node: ServerProcess, browser: Browser, browser_without_permission: Browser
) -> None:
    room = book(node, [("Jan Kowalski", "host"), ("Anna Nowak", "member")])
    jan, anna = room["participants"]
    page_anna = await join(browser, anna)
    page_jan = await new_page(browser_without_permission)
    await page_jan.add_init_script(CANVAS_MEDIA_JS)
    await page_jan.goto(jan["join_url"])
    await page_jan.get_by_role("button", name="Dołącz", exact=True).click()

    await mdns_only(page_jan, "publisher", node)
    await seen_while_honest(page_jan, page_anna, jan["id"], node)
    await until(page_jan, VIDEO_PLAYING_JS, anna["id"], what="Anna's video at the canvas page", timeout=20, node=node)
    await mdns_only(page_jan, "subscriber", node)
    await until(page_jan, "() => window.konsylium.state === 'connected'", what="connected at last", node=node)
