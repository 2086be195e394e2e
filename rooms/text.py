"""Which characters a one-line text field (a title, a name, a reference) may hold.

Titles and names are shown to other people: in the join page, the browser
client, the integrator's own screens. A field is refused when it holds a
character that can hide or reorder what is shown (control characters, C1
controls, line separators, bidirectional overrides and isolates, lone
surrogates, noncharacters), or when nothing in it would be visible (only
spaces, zero-width characters and other blanks). Zero-width joiners and
similar characters stay allowed *inside* visible text: emoji sequences and
some scripts need them.
"""

from __future__ import annotations

import unicodedata

__all__ = ["has_surrogate", "text_problem"]

# Explicit bidirectional formatting: embeddings, overrides, PDF (U+202A-U+202E) and
# isolates, PDI (U+2066-U+2069): they reorder the text around them ("Trojan Source").
BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
# Characters that draw nothing though Unicode does not class them as spaces or formats.
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f")
# Categories that show nothing on their own: spaces, formats (zero-width space, joiners,
# word joiner, BOM, ...), controls, and marks that need a base character to sit on.
INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cf", "Cc", "Mn", "Me"})


def has_surrogate(value: str) -> bool:
    """True when *value* holds a lone UTF-16 surrogate (no UTF-8 encoding exists for it)."""
    return any("\ud800" <= c <= "\udfff" for c in value)


def _forbidden(c: str) -> bool:
    code = ord(c)
    if code < 0x20 or 0x7F <= code <= 0x9F:  # C0, DEL, C1
        return True
    if c in BIDI_CONTROLS or c in "\u2028\u2029":  # reordering, line and paragraph separators
        return True
    if 0xD800 <= code <= 0xDFFF:  # lone surrogates
        return True
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE  # noncharacters


def _visible(c: str) -> bool:
    return not c.isspace() and c not in BLANK_LETTERS and unicodedata.category(c) not in INVISIBLE_CATEGORIES


def text_problem(value: str) -> str | None:
    """Return what is wrong with *value* as one line of visible text, or None when it is fine."""
    if any(_forbidden(c) for c in value):
        return "must not contain control, bidirectional-override or separator characters"
    if not any(_visible(c) for c in value):
        return "must contain visible characters"
    return None
