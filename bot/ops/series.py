"""The /ops trend chart's buckets: hours for a period of up to two days, else the shop's calendar days (China
Standard Time), built from per-hour counts the database gives (so no date arithmetic runs per row in SQL)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

SHOP_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")  # the shop's days; fixed offset, China keeps no DST
HOURLY_UP_TO = timedelta(days=2)


def hour_of(value: Any) -> datetime:
    """The aware UTC hour of a database's hour value (SQLite: 'YYYY-MM-DD HH'; PostgreSQL: a naive UTC timestamp)."""
    if isinstance(value, str):
        return datetime.strptime(value, "%Y-%m-%d %H").replace(tzinfo=timezone.utc)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _floor(at: datetime, hourly: bool) -> datetime:
    local = at.astimezone(SHOP_TZ)
    return local.replace(minute=0, second=0, microsecond=0) if hourly else local.replace(
        hour=0, minute=0, second=0, microsecond=0)


def per_bucket(
    since: datetime, until: datetime, *, started: Mapping[Any, int], handed_off: Mapping[Any, int]
) -> dict[str, Any]:
    """Counts per hour (keys as the database gave them) summed into the period's buckets: `starts` are each
    bucket's first moment in shop time (the first and last bucket may be cut by the period's ends)."""
    hourly = until - since <= HOURLY_UP_TO
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    starts, at = [], _floor(since, hourly)
    while at < until:
        starts.append(at)
        at += step
    index = {start: i for i, start in enumerate(starts)}

    def spread(counts: Mapping[Any, int]) -> list[int]:
        out = [0] * len(starts)
        for hour, n in counts.items():
            i = index.get(_floor(hour_of(hour), hourly))
            if i is not None:
                out[i] += int(n)
        return out

    return {"bucket": "hour" if hourly else "day", "starts": [s.isoformat() for s in starts],
            "started": spread(started), "handed_off": spread(handed_off)}
