"""Read a JSON request body strictly: bounded nesting, text that UTF-8 can carry, finite numbers.

Python's parser accepts more than an API should keep: nesting until the
interpreter's recursion limit (then a RecursionError), ``\\ud800`` escapes that
decode to lone surrogates (no UTF-8 encoding exists for them, so storing or
hashing them fails later), and ``NaN``/``Infinity``. Each is refused here, in
any string or key of the body, known field or not, before anything reads it.
"""

from __future__ import annotations

import json
import math
from typing import Any

from rooms.text import has_surrogate

__all__ = ["MAX_DEPTH", "JsonRefused", "load_json"]

MAX_DEPTH = 64


class JsonRefused(ValueError):
    """The body is not JSON this API accepts; the message says why (never echoes the body)."""


def _no_constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefused("a number is too large")
    return value


def _pointer(parent: str, key: str | int) -> str:
    return f"{parent}/{str(key).replace('~', '~0').replace('/', '~1')}"


def _shown(pointer: str) -> str:
    """The pointer as the message quotes it: short, whatever the keys are."""
    return repr(pointer[:100] or "/")


def load_json(raw: bytes) -> Any:
    """Parse *raw* and check it; raise JsonRefused when it is not acceptable."""
    try:
        value = json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError as exc:
        raise JsonRefused(f"it is nested deeper than {MAX_DEPTH} levels") from exc
    except JsonRefused:
        raise
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, too many digits
        raise JsonRefused(str(exc)) from exc
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, pointer, depth = stack.pop()
        if isinstance(item, str):
            if has_surrogate(item):
                raise JsonRefused(f"the string at {_shown(pointer)} holds a lone UTF-16 surrogate")
            continue
        if not isinstance(item, dict | list):
            continue
        if depth >= MAX_DEPTH:
            raise JsonRefused(f"it is nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            for key, child in item.items():
                if has_surrogate(key):  # the key cannot go into the message: name its object
                    raise JsonRefused(f"a key in {_shown(pointer)} holds a lone UTF-16 surrogate")
                stack.append((child, _pointer(pointer, key), depth + 1))
        else:
            stack.extend((child, _pointer(pointer, i), depth + 1) for i, child in enumerate(item))
    return value
