"""Hypothesis strategies for hostile input: any JSON value, odd text, deep nesting, raw bytes.

Shared by the property tests of the booking API and of join tokens. The text
strategy mixes ordinary characters with the ones the API refuses or used to
trip over (lone surrogates, C0/C1 controls, bidirectional overrides,
zero-width characters, non-ASCII digits), so that a few dozen examples reach
them.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

__all__ = ["NASTY_CHARACTERS", "deep_json", "display_names", "invite_bodies", "json_text", "json_values",
           "nasty_text", "with_overrides"]

NASTY_CHARACTERS = (
    "\ud800", "\udfff", "\udc80", "\x00", "\x1b", "\x7f", "\x85", "\x9b", "\u202e", "\u2066",
    "\u2028", "\u200b", "\u200d", "\u2060", "\ufeff", "\u00a0", "\u3164", "\ufffe", "²", "٣", "\uff10",
    "/", "~", "%", "\\", '"', "'", "<", "&", "\n", "\r", "\t", " ",
)

nasty_text = st.text(
    st.one_of(
        st.sampled_from(NASTY_CHARACTERS),
        st.characters(codec=None, exclude_categories=[]),  # every code point, surrogates included
        st.characters(min_codepoint=32, max_codepoint=126),
    ),
    max_size=12,
)

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),  # NaN and the infinities too: json.dumps writes them as NaN/Infinity
    nasty_text,
)

json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(nasty_text, inner, max_size=3),
    max_leaves=8,
)


def json_text(value: Any) -> str:
    """Serialise *value* as a client would: ASCII with ``\\uXXXX`` escapes (lone surrogates too)."""
    return json.dumps(value)


@st.composite
def deep_json(draw: st.DrawFn, inner: str = "1") -> str:
    """JSON text nested hundreds to thousands of levels deep, in arrays or objects."""
    depth = draw(st.integers(min_value=65, max_value=5000))
    if draw(st.booleans()):
        return "[" * depth + inner + "]" * depth
    return '{"a":' * depth + inner + "}" * depth


@st.composite
def with_overrides(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """*base* with some of its fields dropped or replaced by any JSON value, and extra fields."""
    out: dict[str, Any] = {}
    for key, value in base.items():
        choice = draw(st.sampled_from(("keep", "keep", "drop", "replace")))
        if choice == "keep":
            out[key] = value
        elif choice == "replace":
            out[key] = draw(json_values)
    out.update(draw(st.dictionaries(nasty_text, json_values, max_size=2)))
    return out


#: A valid guest invite request (rooms/guest_invite_api.py).
INVITE = {"purpose": "interpreter", "expires_in_minutes": 30}


@st.composite
def invite_bodies(draw: st.DrawFn) -> Any:
    """Bodies of ``POST …/invites``: the valid one with fields dropped or replaced, lifetimes around and far
    beyond the 5 to 300 minute bounds, numbers of every JSON kind, or any JSON value at all."""
    near = st.integers(min_value=-2, max_value=302) | st.sampled_from([5.0, 300.5, True, False, "30", 10**20])
    return draw(st.one_of(
        with_overrides(INVITE),
        st.fixed_dictionaries({"purpose": st.sampled_from(["interpreter", "family_member", "clinician", "Interpreter"]),
                               "expires_in_minutes": near}),
        json_values,
    ))


#: Names a guest may type into the invite page's form (or anything a hostile client posts there).
display_names = st.one_of(st.text(max_size=120), nasty_text, st.sampled_from(["", " ", "Anna Nowak", "x" * 101]))
