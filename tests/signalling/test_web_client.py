"""The browser client's files are served, the npm Socket.IO client included, nothing beyond web/."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from rooms.clock import ManualClock
from tests.conftest import NOW, book

Client = TestClient[Any, Any]


async def test_static_files_and_vendor_socket_io(client: Client) -> None:
    css = await client.get("/static/app.css")
    assert css.status == 200 and css.content_type == "text/css"
    vendor = await client.get("/static/vendor/socket.io.esm.min.js")
    assert vendor.status == 200 and vendor.content_type == "text/javascript"
    assert "export" in await vendor.text()


async def test_nothing_outside_web_is_served(client: Client) -> None:
    for path in ("/static/../pyproject.toml", "/static/%2e%2e/pyproject.toml", "/static/nope.js",
                 "/static/package.json", "/static/node_modules/socket.io-client/package.json",
                 "/static/join.html", "/static/.hidden.js"):
        resp = await client.get(path)
        assert resp.status in (403, 404), path
        assert "[build-system]" not in await resp.text()


async def test_join_page_sends_a_strict_content_security_policy(client: Client, clock: ManualClock) -> None:
    room = await book(client)
    clock.set(NOW + timedelta(hours=1))
    path = room["participants"][0]["join_url"].removeprefix("https://video.example.org")
    resp = await client.get(path)
    assert resp.status == 200
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert "camera=(self)" in resp.headers["Permissions-Policy"]
