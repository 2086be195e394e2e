"""Serve the browser client: ``web/join.html`` for a verified link, and ``/static``."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from rooms.tokens import JoinGrant

__all__ = ["WEB_DIR", "WebClient"]

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
SOCKET_IO_ESM = Path("node_modules/socket.io-client/dist/socket.io.esm.min.js")


class WebClient:
    """The static files of web/ and the join page with its bootstrap data."""

    def __init__(self, web_dir: Path = WEB_DIR) -> None:
        self.web_dir = web_dir

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get("/static/vendor/socket.io.esm.min.js", self.socket_io, allow_head=False),
            web.static("/static", self.web_dir, follow_symlinks=False),
        ]

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
        html = (self.web_dir / "join.html").read_text(encoding="utf-8")
        html = html.replace("{{LANG}}", lang).replace("{{BOOTSTRAP}}", data)
        return web.Response(
            text=html, content_type="text/html",
            headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
                     "X-Content-Type-Options": "nosniff"},
        )
