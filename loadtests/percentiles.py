"""Nearest-rank percentiles for benchmark tables (NaN when there is nothing to rank)."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["percentile"]


def percentile(values: Iterable[float], q: float) -> float:
    """The value at rank ⌊q·n⌋ of the sorted values (q in [0, 1]); NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered))))]
