"""The browser client's files are served, the npm Socket.IO client included, nothing beyond web/."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

Client = TestClient[Any, Any]


async def test_static_files_and_vendor_socket_io(client: Client) -> None:
    css = await client.get("/static/app.css")
    assert css.status == 200 and css.content_type == "text/css"
    vendor = await client.get("/static/vendor/socket.io.esm.min.js")
    assert vendor.status == 200 and vendor.content_type == "text/javascript"
    assert "export" in await vendor.text()


async def test_nothing_outside_web_is_served(client: Client) -> None:
    for path in ("/static/../pyproject.toml", "/static/%2e%2e/pyproject.toml", "/static/nope.js"):
        resp = await client.get(path)
        assert resp.status in (403, 404), path
        assert "[build-system]" not in await resp.text()
