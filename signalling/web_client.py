"""Serve the browser client: ``web/join.html`` for a verified link, and ``/static``."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from rooms.tokens import JoinGrant

__all__ = ["WEB_DIR", "WebClient"]

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
SOCKET_IO_ESM = Path("node_modules/socket.io-client/dist/socket.io.esm.min.js")
#: What /static serves: the client's own top-level files, nothing of node_modules or npm's files.
SERVED = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png",
          ".ico": "image/x-icon"}
#: The join page loads only its own files, and may use only the camera and microphone.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'; object-src 'none'"
    ),
    "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self)",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


class WebClient:
    """The static files of web/ and the join page with its bootstrap data."""

    def __init__(self, web_dir: Path = WEB_DIR) -> None:
        self.web_dir = web_dir
        self._page: str | None = None  # join.html, read once on first use

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/static/vendor/socket.io.esm.min.js", self.socket_io, allow_head=False),
            web.get("/static/{name:[A-Za-z0-9][A-Za-z0-9_.-]*}", self.file, allow_head=False),
        ]

    async def file(self, request: web.Request) -> web.FileResponse:
        name = request.match_info["name"]
        path = self.web_dir / name
        kind = SERVED.get(path.suffix)
        if kind is None or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Content-Type": kind, "X-Content-Type-Options": "nosniff"})

    async def socket_io(self, request: web.Request) -> web.FileResponse:
        path = self.web_dir / SOCKET_IO_ESM
        if not path.is_file():
            raise web.HTTPNotFound(reason="socket.io-client is not installed: run `make run`")
        return web.FileResponse(path, headers={"Content-Type": "text/javascript"})

    def page(self, request: web.Request, grant: JoinGrant, lang: str) -> web.Response:
        """The join page of a verified participant (JoinPage's client)."""
        room, you = grant.room, grant.participant
        bootstrap = {
            "lang": lang,
            "room": {"id": room.id, "title": room.title, "kind": room.kind.value,
                     "starts_at": room.starts_at.isoformat(), "ends_at": room.ends_at.isoformat()},
            "you": {"id": you.id, "name": you.display_name, "role": you.role.value,
                    "party": you.party.value},
            "socket_path": "/socket.io/",
        }
        data = json.dumps(bootstrap, ensure_ascii=False).replace("<", "\\u003c")
        if self._page is None:
            self._page = (self.web_dir / "join.html").read_text(encoding="utf-8")
        html = self._page.replace("{{LANG}}", lang).replace("{{BOOTSTRAP}}", data)
        return web.Response(text=html, content_type="text/html", headers=PAGE_HEADERS)
