"""Real headless Chromium against a real `konsylium serve` (docs/web-client.md).

One server for the browser tests (each test books its own room), a fresh
browser per test. Chromium is Debian's (/usr/bin/chromium) with fake camera
and microphone, driven by Playwright; Firefox is Debian's firefox-esr with fake
media, driven over WebDriver BiDi (tests/browser/firefox.py).
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.browser.firefox import FIREFOX_CAMERA_ALLOWED, Firefox, FirefoxPage
from tests.processes import ServerProcess, server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
]
API_KEY = "key-portal-browser-0123456789abcdef"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@contextmanager
def serving(data: Path, settings: Mapping[str, str] | None = None) -> Iterator[ServerProcess]:
    """`konsylium serve` with its data and log in *data*, the portal's API key and media on loopback;
    *settings* (KONSYLIUM_* variables) add to or replace those."""
    env = {
        "KONSYLIUM_DATA_DIR": str(data),
        "KONSYLIUM_API_KEYS": f"portal={API_KEY}",
        "KONSYLIUM_MEDIA_ADDRESSES": "127.0.0.1",
        **(settings or {}),
    }
    with server(env, data / "server.log") as proc:
        yield proc


@pytest.fixture(scope="session")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with serving(tmp_path_factory.mktemp("node")) as proc:
        yield proc


@asynccontextmanager
async def chromium_with(args: Sequence[str]) -> AsyncIterator[Browser]:
    """Debian's Chromium launched with *args*, closed on leaving."""
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=list(args))
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium_with(CHROMIUM_ARGS) as chromium:
        yield chromium


@pytest.fixture
async def browser_without_permission() -> AsyncIterator[Browser]:
    """Chromium that grants no camera permission by itself (no fake prompt UI): a page that never
    gets one offers only its default-route addresses, hidden behind mDNS `.local` names."""
    args = [arg for arg in CHROMIUM_ARGS if arg != "--use-fake-ui-for-media-stream"]
    async with chromium_with(args) as chromium:
        yield chromium


@pytest.fixture
async def browser_two_devices() -> AsyncIterator[Browser]:
    """Chromium with two fake cameras and microphones, to choose between."""
    args = [arg + "=device-count=2" if arg == "--use-fake-device-for-media-stream" else arg
            for arg in CHROMIUM_ARGS]
    async with chromium_with(args) as chromium:
        yield chromium


class EvaluatingPage(Protocol):
    """What `until` needs of a page: Playwright's `Page` and `FirefoxPage` both have it."""

    async def evaluate(self, expression: str, arg: Any = None) -> Any: ...


LaunchFirefox = Callable[..., Awaitable[Firefox]]


@pytest.fixture
async def firefox(tmp_path: Path) -> AsyncIterator[LaunchFirefox]:
    """Start Firefox ESR processes (``await firefox(prefs)``, or ``firefox(prefs, wrapper=[...])`` to
    run it under a command such as ``ip netns exec NAME``); all are closed after the test."""
    launched: list[Firefox] = []

    async def launch(prefs: dict[str, Any] | None = None, wrapper: Sequence[str] = ()) -> Firefox:
        browser = await Firefox.launch(tmp_path / f"firefox-{len(launched)}.log",
                                       FIREFOX_CAMERA_ALLOWED if prefs is None else prefs, wrapper)
        launched.append(browser)
        return browser

    try:
        yield launch
    finally:
        for browser in launched:
            await browser.close()


async def join_firefox(browser: Firefox, participant: dict[str, Any], *, wait: str = "connected") -> FirefoxPage:
    """Open a participant's join_url in Firefox and press "Dołącz"; wait for *wait* (a state, or "welcomed")."""
    page = await browser.new_page()
    await page.goto(participant["join_url"])
    await until(page, "() => window.konsylium?.view === 'prejoin' && !document.getElementById('join-button').disabled",
                what="the pre-join view")
    await page.click("#join-button")
    if wait == "welcomed":
        await until(page, "() => Boolean(window.konsylium?.call?.lastWelcome)", what="welcomed")
    else:
        await until(page, f"() => window.konsylium?.state === {json.dumps(wait)}", what=wait)
    return page


def book(node: ServerProcess, people: Sequence[tuple[str, str] | tuple[str, str, str]], *, model: str = "A2A",
         kind: str = "meeting", title: str = "Narada zespołu") -> dict[str, Any]:
    """Book a room that is open now through the real API; *people* are (name, role) officials, or
    (name, role, party) for another party (a citizen in an A2C room)."""
    now = datetime.now(UTC)
    body = {
        "title": title, "kind": kind, "model": model,
        "starts_at": now.isoformat(), "ends_at": (now + timedelta(hours=1)).isoformat(),
        "participants": [{"display_name": person[0], "role": person[1],
                          "party": person[2] if len(person) == 3 else "administration"}
                         for person in people],
    }
    request = urllib.request.Request(
        f"{node.url}/api/v1/rooms", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 201
        room: dict[str, Any] = json.load(resp)
    return room


def cancel(node: ServerProcess, room_id: str) -> None:
    """Cancel a booked room through the real API."""
    request = urllib.request.Request(
        f"{node.url}/api/v1/rooms/{room_id}", method="DELETE",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 204


async def new_page(browser: Browser, *, locale: str = "pl-PL", headers: dict[str, str] | None = None,
                   viewport: dict[str, int] | None = None, bypass_csp: bool = False) -> Page:
    """A page in a fresh context; *bypass_csp* lets a test inject its own scripts (axe-core)."""
    context: BrowserContext = await browser.new_context(
        locale=locale, extra_http_headers=headers or {},
        viewport=viewport or {"width": 1000, "height": 700}, bypass_csp=bypass_csp,
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.konsylium_errors = errors  # type: ignore[attr-defined]
    return page


async def join(browser: Browser, participant: dict[str, Any], **options: Any) -> Page:
    """Open a participant's join_url, press "Dołącz" and wait until the room says hello."""
    page = await new_page(browser, **options)
    await page.goto(participant["join_url"])
    await page.get_by_role("button", name="Dołącz", exact=True).click()
    await until(page, "() => window.konsylium?.state === 'connected'", what="connected")
    return page


async def diagnostics(page: EvaluatingPage) -> str:
    try:
        state = await page.evaluate(DIAGNOSTICS_JS)
    except Exception as exc:  # the page may be gone
        state = f"(no state: {exc})"
    errors: Any = getattr(page, "konsylium_errors", [])
    if isinstance(page, FirefoxPage):
        try:
            errors = await page.page_errors()
        except Exception as exc:
            errors = f"(no errors: {exc})"
    return f"page state: {state}\npage errors: {errors}"


async def until(page: EvaluatingPage, expression: str, arg: Any = None, *, timeout: float = 10.0,
                what: str = "", node: ServerProcess | None = None) -> Any:
    """Poll an (async) page expression until it is truthy; fail with the page's state and the server log."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await page.evaluate(expression, arg)
        if value:
            return value
        if loop.time() > deadline:
            log = node.log()[-4000:] if node is not None else ""
            raise AssertionError(f"timed out waiting for {what or expression}: last={value!r}\n"
                                 f"{await diagnostics(page)}\n{log}")
        await asyncio.sleep(0.1)


AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


async def violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA violations on *page* (opened with ``bypass_csp=True``: axe is injected
    from web/node_modules, never served by the node)."""
    assert AXE.is_file(), f"{AXE} is missing: run `npm ci --prefix web`"
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = await page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return result.violations.map((v) => ({id: v.id, impact: v.impact,
                nodes: v.nodes.map((n) => n.target.join(' ') + ': ' + n.failureSummary)}));
        }""",
        AXE_TAGS,
    )
    return found


# Is this participant's video playing on this page (frames decoded, time advancing)?
VIDEO_PLAYING_JS = """async (pid) => {
  const v = document.querySelector(`.tile[data-participant-id="${pid}"] video[data-participant-id="${pid}"]`);
  if (!v || !v.videoWidth || v.paused) return false;
  const t0 = v.currentTime;
  await new Promise((r) => setTimeout(r, 300));
  return v.videoWidth > 0 && v.currentTime > t0;
}"""

# Is this participant's audio arriving (packets growing on its m-line) and routed to an unmuted element?
AUDIO_FLOWING_JS = """async (pid) => {
  const k = window.konsylium, pc = k.subscriber;
  if (!pc) return false;
  const v = document.querySelector(`video[data-participant-id="${pid}"]`);
  if (!v || v.muted || !v.srcObject || v.srcObject.getAudioTracks().length !== 1) return false;
  const mids = [...k.call.trackInfo.values()]
    .filter((t) => t.participant_id === pid && t.kind === "audio").map((t) => t.mid);
  const count = async () => {
    let n = 0;
    (await pc.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "audio" && mids.includes(r.mid)) n += r.packetsReceived;
    });
    return n;
  };
  const a = await count();
  await new Promise((r) => setTimeout(r, 400));
  const b = await count();
  return a > 0 && b > a;
}"""

# What the page says about the connection, with the peer connections' real states.
CONN_JS = """() => ({
  text: document.getElementById('conn-state').textContent,
  state: window.konsylium.state,
  publisher: window.konsylium.publisher && window.konsylium.publisher.connectionState,
  subscriber: window.konsylium.subscriber && window.konsylium.subscriber.connectionState,
})"""

TILE_IDS_JS = "() => [...document.querySelectorAll('.tile')].map((t) => t.dataset.participantId)"

DIAGNOSTICS_JS = """async () => {
  const k = window.konsylium || {};
  const out = {view: k.view, state: k.state, alerts: document.getElementById('alerts')?.textContent,
               conn: document.getElementById('conn-state')?.textContent};
  out.tiles = [...document.querySelectorAll('.tile')].map((t) => {
    const v = t.querySelector('video');
    return [t.dataset.participantId, v && v.videoWidth, v && v.currentTime,
            v && v.srcObject && v.srcObject.getTracks().map((x) => x.kind + ':' + x.readyState).join('|')];
  });
  out.publisher = k.publisher && k.publisher.connectionState;
  out.subscriber = k.subscriber && k.subscriber.connectionState;
  out.tracks = k.call ? [...k.call.trackInfo.values()] : null;
  return JSON.stringify(out);
}"""
