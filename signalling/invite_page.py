"""The page behind a guest invite's link: ``GET /invite/{code}`` shows it, ``POST`` spends it.

Opening the link never spends the invite (mail scanners and chat apps open links to
preview them): the page says what the invite is for and offers a "join" button with an
optional name. Pressing it (the ``POST``) adds the guest to the room, once
(`rooms.guest_invite_service.GuestInvites.redeem`), and sends the browser to the join
page with the guest's own token; the guest then waits in the lobby until a host lets
them in. An unknown code answers 404, a used, revoked or expired one 410, each with a
plain page in Polish (English on request) that tells nothing about the room.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

from aiohttp import web

from rooms.errors import Conflict, DomainError, NotFound, ValidationFailed
from rooms.guest_invite_service import GuestInvites
from rooms.guest_invites import CODE_PATTERN, InviteGone, InviteStatus, Purpose, default_name
from rooms.model import NAME_MAX, check_text
from rooms.tokens import JoinTokens
from signalling.i18n import language_of
from signalling.join_page import page

__all__ = ["InvitePage"]


TEXT: dict[str, dict[str, Any]] = {
    "pl": {
        "unknown": ("Nieznane zaproszenie", "Ten link nie prowadzi do żadnego zaproszenia. Sprawdź, czy "
                    "został skopiowany w całości, albo poproś osobę prowadzącą wizytę o nowe zaproszenie."),
        "used": ("Zaproszenie zostało już wykorzystane", "Z tego zaproszenia można skorzystać tylko raz i ktoś "
                 "już to zrobił. Jeśli potrzebujesz dołączyć, poproś osobę prowadzącą wizytę o nowe zaproszenie."),
        "revoked": ("Zaproszenie wycofane", "Osoba prowadząca wizytę wycofała to zaproszenie."),
        "expired": ("Zaproszenie wygasło", "To zaproszenie jest już nieważne. Jeśli nadal potrzebujesz "
                    "dołączyć, poproś osobę prowadzącą wizytę o nowe zaproszenie."),
        "full": ("Nie można dołączyć", "W tym spotkaniu nie ma już miejsca. Poproś osobę prowadzącą wizytę "
                 "o pomoc."),
        "ready": ("Zaproszenie na wizytę", "Zaproszono Cię do udziału w wizycie wideo jako: {purpose}. Po "
                  "dołączeniu poczekasz, aż osoba prowadząca wizytę wpuści Cię do rozmowy."),
        "name_label": "Twoje imię i nazwisko (nieobowiązkowe)",
        "name_hint": "Tak zobaczą Cię pozostali uczestnicy. Jeśli nic nie wpiszesz, zobaczą: „{default}”.",
        "join": "Dołącz",
        "bad_name": "Popraw imię: najwyżej 100 znaków, same litery, cyfry, spacje i zwykłe znaki interpunkcyjne.",
    },
    "en": {
        "unknown": ("Unknown invitation", "This link leads to no invitation. Check that it was copied whole, "
                    "or ask the person running the visit for a new invitation."),
        "used": ("Invitation already used", "This invitation can be used only once and it has been used. If "
                 "you need to join, ask the person running the visit for a new invitation."),
        "revoked": ("Invitation withdrawn", "The person running the visit withdrew this invitation."),
        "expired": ("Invitation expired", "This invitation is no longer valid. If you still need to join, "
                    "ask the person running the visit for a new invitation."),
        "full": ("Cannot join", "This meeting has no room for more people. Ask the person running the visit "
                 "for help."),
        "ready": ("Invitation to a visit", "You are invited to a video visit as: {purpose}. Once you join, "
                  "you wait until the person running the visit lets you in."),
        "name_label": "Your name (optional)",
        "name_hint": "The others see you by this name. If you leave it empty they see “{default}”.",
        "join": "Join",
        "bad_name": "Please correct the name: at most 100 characters of letters, digits, spaces and ordinary "
                    "punctuation.",
    },
}
#: What each purpose is called on the page.
PURPOSES: dict[str, dict[str, str]] = {
    "pl": {"interpreter": "tłumacz", "family_member": "osoba bliska", "clinician": "lekarz konsultujący"},
    "en": {"interpreter": "interpreter", "family_member": "family member", "clinician": "consulting clinician"},
}
STATUS_PAGES = {InviteStatus.USED: "used", InviteStatus.REVOKED: "revoked", InviteStatus.EXPIRED: "expired"}
HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
           "Content-Security-Policy": "default-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                                      "base-uri 'none'; object-src 'none'"}


class InvitePage:
    """``GET`` and ``POST /invite/{code}``."""

    def __init__(self, invites: GuestInvites, tokens: JoinTokens) -> None:
        self.invites = invites
        self.tokens = tokens

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/invite/{code}", self.show, allow_head=False), web.post("/invite/{code}", self.join)]

    def _answer(self, status: int, body: str) -> web.Response:
        return web.Response(status=status, text=body, content_type="text/html", headers=HEADERS)

    def _notice(self, lang: str, key: str, status: int) -> web.Response:
        title, message = TEXT[lang][key]
        return self._answer(status, page(lang, title, message))

    def _form(self, lang: str, code: str, purpose: Purpose, status: int = 200, error: str | None = None,
              name: str = "") -> web.Response:
        text = TEXT[lang]
        title, message = text["ready"]
        label = PURPOSES[lang][purpose.value]
        default = html.escape(default_name(purpose))
        alert = "" if error is None else f'<p class="alert" role="alert" id="invite-error">{html.escape(error)}</p>'
        described = "invite-name-hint" + ("" if error is None else " invite-error")
        form = (
            f'<form method="post" action="/invite/{quote(code)}?lang={lang}" class="invite-form">{alert}'
            f'<label for="invite-name">{html.escape(text["name_label"])}</label>'
            f'<input id="invite-name" name="display_name" maxlength="{NAME_MAX}" autocomplete="name" '
            f'value="{html.escape(name)}" aria-describedby="{described}">'
            f'<p id="invite-name-hint" class="hint">{html.escape(text["name_hint"].format(default=default))}</p>'
            f'<button type="submit" id="invite-join">{html.escape(text["join"])}</button></form>'
        )
        return self._answer(status, page(lang, title, message.format(purpose=label), body_extra=form))

    async def show(self, request: web.Request) -> web.Response:
        lang = language_of(request)
        code = request.match_info["code"]
        found = await self.invites.look_up(code) if CODE_PATTERN.fullmatch(code) else None
        if found is None:
            return self._notice(lang, "unknown", 404)
        invite, status, _ = found
        if status is not InviteStatus.ACTIVE:
            return self._notice(lang, STATUS_PAGES[status], 410)
        return self._form(lang, code, invite.purpose)

    async def join(self, request: web.Request) -> web.Response:
        lang = language_of(request)
        code = request.match_info["code"]
        if not CODE_PATTERN.fullmatch(code):
            return self._notice(lang, "unknown", 404)
        try:
            form = await request.post()
        except (ValueError, UnicodeDecodeError):
            form = None
        raw = None if form is None else form.get("display_name", "")
        name = raw.strip() if isinstance(raw, str) else None
        if name is None or (name and check_text(name, "/display_name", NAME_MAX)):
            found = await self.invites.look_up(code)
            if found is None:
                return self._notice(lang, "unknown", 404)
            return self._form(lang, code, found[0].purpose, 422, TEXT[lang]["bad_name"], (name or "")[:NAME_MAX])
        try:
            room, guest = await self.invites.redeem(code, name or None)
        except NotFound:
            return self._notice(lang, "unknown", 404)
        except InviteGone:
            found = await self.invites.look_up(code)
            status = InviteStatus.EXPIRED if found is None or found[1] is InviteStatus.ACTIVE else found[1]
            return self._notice(lang, STATUS_PAGES[status], 410)
        except (Conflict, ValidationFailed):  # the room is full (or its policy refuses): nothing was spent
            return self._notice(lang, "full", 409)
        except DomainError:
            return self._notice(lang, "unknown", 404)
        token = self.tokens.issue(room, guest)
        raise web.HTTPSeeOther(f"/join/{quote(room.id)}?t={token}&lang={lang}", headers={
            "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"})
