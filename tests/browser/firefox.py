"""Firefox for the browser tests: Debian's firefox-esr over WebDriver BiDi, from Python.

Playwright for Python drives Chromium only with the browsers it downloads, so Firefox is
driven by puppeteer-core (npm, pinned in web/package.json; it downloads nothing) in a
small Node script, ``firefox_page.mjs``, that takes one JSON command a line. `Firefox`
runs that script; `FirefoxPage` offers the few calls the tests need with Playwright's
shapes (`goto`, `click`, `evaluate(expression, arg)`), so the helpers of conftest
(`until`, `diagnostics`) work on either browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["FIREFOX", "FIREFOX_CAMERA_ALLOWED", "FIREFOX_NO_PERMISSION", "Firefox", "FirefoxError", "FirefoxPage"]

FIREFOX = "/usr/bin/firefox-esr"
SCRIPT = Path(__file__).with_name("firefox_page.mjs")
#: A person who allowed camera and microphone (fake devices): Firefox then gathers every host
#: address in the clear, loopback too (the test server's media address is 127.0.0.1).
FIREFOX_CAMERA_ALLOWED: dict[str, Any] = {
    "permissions.default.camera": 1,
    "permissions.default.microphone": 1,
    "media.peerconnection.ice.loopback": True,
}
#: A page with no camera permission (fake media handed out without asking, which grants no
#: permission): Firefox then offers only its default-route addresses, hidden behind mDNS `.local`
#: names, as for a viewer, a citizen who declined the camera or a page publishing a canvas.
FIREFOX_NO_PERMISSION: dict[str, Any] = {
    "media.navigator.permission.disabled": True,
    "media.peerconnection.ice.loopback": True,
}
COMMAND_TIMEOUT = 30.0
START_TIMEOUT = 60.0


class FirefoxError(RuntimeError):
    """A command failed in the Node driver or in the page."""


class Firefox:
    """One Firefox process (a fresh profile) and its pages, each in its own browser context."""

    def __init__(self, proc: asyncio.subprocess.Process, log_path: Path) -> None:
        self.proc = proc
        self.log_path = log_path
        self.version = ""
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def launch(cls, log_path: Path, prefs: dict[str, Any] | None = None,
                     wrapper: Sequence[str] = ()) -> Firefox:
        """Start the driver and Firefox; *wrapper* is a command prefix for both, e.g.
        ``ip netns exec NAME`` to run them in a network namespace."""
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not installed: run `make test`, which installs npm")
        with open(log_path, "ab") as log:  # the child keeps its own copy as stderr
            proc = await asyncio.create_subprocess_exec(
                *wrapper, node, str(SCRIPT), json.dumps({"executable": FIREFOX, "prefs": prefs or {}}),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log,
                limit=16 * 1024 * 1024,
            )
        firefox = cls(proc, log_path)
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT)
            hello = json.loads(line) if line else {}
        except (TimeoutError, ValueError):
            hello = {}
        if not hello.get("ready"):
            await firefox.close()
            raise FirefoxError(f"Firefox did not start: {firefox.log_tail()}")
        firefox.version = str(hello.get("version", ""))
        firefox._reader = asyncio.ensure_future(firefox._read())
        return firefox

    def log_tail(self, size: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            try:
                answer = json.loads(line)
            except ValueError:
                continue
            future = self._waiting.pop(answer.get("id"), None)
            if future is None or future.done():
                continue
            if answer.get("ok"):
                future.set_result(answer.get("value"))
            else:
                future.set_exception(FirefoxError(str(answer.get("error"))))
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(FirefoxError(f"the Firefox driver exited: {self.log_tail()}"))
        self._waiting.clear()

    async def command(self, op: str, **fields: Any) -> Any:
        """Send one command and wait for its answer."""
        if self.proc.stdin is None or self.proc.returncode is not None:
            raise FirefoxError(f"the Firefox driver is not running: {self.log_tail()}")
        ident = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = future
        self.proc.stdin.write(json.dumps({"id": ident, "op": op, **fields}).encode() + b"\n")
        await self.proc.stdin.drain()
        try:
            return await asyncio.wait_for(future, COMMAND_TIMEOUT)
        finally:
            self._waiting.pop(ident, None)

    async def new_page(self) -> FirefoxPage:
        return FirefoxPage(self, int(await self.command("new_page")))

    async def close(self) -> None:
        """Close Firefox (the driver closes it when its stdin ends) and wait for the driver."""
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 20)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            await self._reader


class FirefoxPage:
    """One tab, with the calls of Playwright's `Page` that the tests use."""

    def __init__(self, firefox: Firefox, index: int) -> None:
        self.firefox = firefox
        self.index = index

    async def add_init_script(self, source: str) -> None:
        """Run *source* in every document this page loads, before the document's own scripts."""
        await self.firefox.command("init_script", page=self.index, source=source)

    async def goto(self, url: str) -> None:
        await self.firefox.command("goto", page=self.index, url=url)

    async def click(self, selector: str) -> None:
        await self.firefox.command("click", page=self.index, selector=selector)

    async def evaluate(self, expression: str, arg: Any = None) -> Any:
        """Evaluate *expression* in the page; a function expression is called with *arg*."""
        return await self.firefox.command("evaluate", page=self.index, expression=expression, arg=arg)

    async def page_errors(self) -> list[str]:
        """Uncaught errors of the page so far."""
        return [str(e) for e in await self.firefox.command("errors", page=self.index)]
