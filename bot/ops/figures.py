"""Small arithmetic shared by the /ops figures of the gateway and of the refund service (no imports, no SQL)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def nearest_rank(values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0 < q <= 1) by nearest rank: the smallest value with at least q of the values at or below it
    (the median of 1, 2, 3, 4 is 2). None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(math.ceil(q * len(ordered)), 1) - 1])


def spread(values: Sequence[float]) -> dict[str, float | int | None]:
    """How many, the median and the 90th percentile (nearest rank) of durations in seconds, to a tenth of a second
    (SQLite's day numbers carry about 40 µs of rounding)."""
    median, p90 = nearest_rank(values, 0.5), nearest_rank(values, 0.9)
    return {"count": len(values), "median_seconds": None if median is None else round(median, 1),
            "p90_seconds": None if p90 is None else round(p90, 1)}


def rate(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide (the page shows a dash, not 0 %)."""
    return part / whole if whole else None
