"""The page behind every ``join_url``: checks the token before any media starts.

A refused link answers in plain words with the status CONTRACT.md §5 names
(401 malformed or forged, 410 cancelled, withdrawn or over); a link opened too
early says when the meeting opens. A valid link gets the browser client.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from rooms.errors import (
    DomainError,
    ParticipantRemoved,
    RoomCancelled,
    RoomEnded,
    TokenExpired,
    TokenNotYetValid,
)
from rooms.store import RoomStore
from rooms.tokens import JoinGrant, JoinTokens
from signalling.i18n import language_of

__all__ = ["JoinPage"]

LOCAL_TIME = ZoneInfo("Europe/Warsaw")

TEXT = {
    "pl": {
        "invalid": ("Nieprawidłowy link", "Ten link jest nieprawidłowy. Poproś o nowy link osobę, "
                    "która zaprosiła Cię na spotkanie."),
        "cancelled": ("Spotkanie odwołane", "To spotkanie zostało odwołane."),
        "removed": ("Zaproszenie wycofane", "To zaproszenie zostało wycofane."),
        "expired": ("Spotkanie zakończone", "To spotkanie już się zakończyło."),
        "early": ("Spotkanie jeszcze się nie rozpoczęło",
                  "Spotkanie „{title}” zaczyna się {starts}. Będzie można dołączyć od {opens}. "
                  "Ta strona odświeży się sama."),
        "ready": ("Spotkanie", "Spotkanie „{title}”, {starts}."),
        "lang_switch": ("English", "en"),
    },
    "en": {
        "invalid": ("Invalid link", "This link is not valid. Ask the person who invited you "
                    "for a new link."),
        "cancelled": ("Meeting cancelled", "This meeting was cancelled."),
        "removed": ("Invitation withdrawn", "This invitation was withdrawn."),
        "expired": ("Meeting over", "This meeting has already ended."),
        "early": ("The meeting has not started yet",
                  "The meeting “{title}” starts at {starts}. You can join from {opens}. "
                  "This page refreshes by itself."),
        "ready": ("Meeting", "Meeting “{title}”, {starts}."),
        "lang_switch": ("Polski", "pl"),
    },
}


def _when(value: datetime, lang: str) -> str:
    local = value.astimezone(LOCAL_TIME)
    if lang == "pl":
        return local.strftime("%d.%m.%Y o %H:%M") + " (czasu polskiego)"
    return local.strftime("%d %b %Y at %H:%M") + " (Polish time)"


def page(lang: str, title: str, message: str, *, refresh: int | None = None,
         body_extra: str = "") -> str:
    """Return a small accessible HTML page with one heading and one message."""
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    switch_label, switch_lang = TEXT[lang]["lang_switch"]
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{meta}<title>{html.escape(title)} · Konsylium</title>"
        '<link rel="stylesheet" href="/static/app.css"></head>'
        f'<body><main class="notice"><h1>{html.escape(title)}</h1>'
        f'<p role="status">{html.escape(message)}</p>{body_extra}'
        f'<p><a href="?lang={switch_lang}" class="lang">{switch_label}</a></p>'
        "</main></body></html>"
    )


class JoinPage:
    """``GET /join/{room_id}?t=<token>``."""

    def __init__(
        self,
        tokens: JoinTokens,
        store: RoomStore,
        client: Callable[[web.Request, JoinGrant, str], web.Response] | None = None,
    ) -> None:
        self.tokens = tokens
        self.store = store
        self.client = client

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/join/{room_id}", self.handle, allow_head=False)]

    def _answer(self, request: web.Request, status: int, body: str) -> web.Response:
        return web.Response(
            status=status,
            text=body,
            content_type="text/html",
            headers={
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def handle(self, request: web.Request) -> web.Response:
        lang = language_of(request)
        text = TEXT[lang]
        token = request.query.get("t", "")
        try:
            grant = await self.tokens.verify(token, self.store, request.match_info["room_id"])
        except TokenNotYetValid:
            room = await self.store.get_room(request.match_info["room_id"])
            if room is None:  # cancelled and purged in between: a link to nothing
                return self._answer(request, 401, page(lang, *text["invalid"]))
            title, message = text["early"]
            message = message.format(
                title=room.title,
                starts=_when(room.starts_at, lang),
                opens=_when(self.tokens.window.opens_at(room), lang),
            )
            return self._answer(request, 200, page(lang, title, message, refresh=60))
        except (RoomCancelled, ParticipantRemoved, TokenExpired, RoomEnded) as exc:
            key = {RoomCancelled: "cancelled", ParticipantRemoved: "removed",
                   TokenExpired: "expired", RoomEnded: "expired"}[type(exc)]
            return self._answer(request, 410, page(lang, *text[key]))
        except DomainError:
            return self._answer(request, 401, page(lang, *text["invalid"]))
        if self.client is not None:
            return self.client(request, grant, lang)
        title, message = text["ready"]
        message = message.format(title=grant.room.title, starts=_when(grant.room.starts_at, lang))
        return self._answer(request, 200, page(lang, title, message))
