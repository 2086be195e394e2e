"""Language choice for pages served to people: Polish first, English on request."""

from __future__ import annotations

from aiohttp import web

__all__ = ["LANGUAGES", "language_of"]

LANGUAGES = ("pl", "en")


def language_of(request: web.Request) -> str:
    """Return ``pl`` or ``en``: the ``lang`` query switch, else Accept-Language, else Polish."""
    chosen = request.query.get("lang")
    if chosen in LANGUAGES:
        return chosen
    best, best_q = "pl", 0.0
    for item in request.headers.get("Accept-Language", "").split(","):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best
