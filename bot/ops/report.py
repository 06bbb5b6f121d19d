"""The /ops summary of a period: which period a request means, and the one answer built from the gateway's figures
(bot/ops/summary.py) and the refund service's (GET /stats/period, GET /alerts)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
MAX_PERIOD = timedelta(days=366)
# No shop data lies outside these; far dates would also overflow when moved into the shop's time zone.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)


class BadPeriod(ValueError):
    """The period asked for is not one (unknown name, missing or reversed bounds, too long, no time zone)."""


def period_bounds(
    name: str, since: datetime | None, until: datetime | None, *, now: datetime
) -> tuple[datetime, datetime]:
    """[since, until) in UTC: a named period ends now; `custom` needs both bounds, with a time zone."""
    if name in PERIODS:
        return now - PERIODS[name], now
    if name != "custom":
        raise BadPeriod(f"unknown period {name!r}; one of {', '.join([*PERIODS, 'custom'])}")
    if since is None or until is None:
        raise BadPeriod("a custom period needs since and until")
    if since.tzinfo is None or until.tzinfo is None:
        raise BadPeriod("since and until need a time zone (e.g. 2026-12-01T00:00:00+08:00)")
    try:
        since, until = since.astimezone(timezone.utc), until.astimezone(timezone.utc)
    except OverflowError as exc:
        raise BadPeriod("since or until is out of range") from exc
    if not (EARLIEST <= since < until <= LATEST):
        raise BadPeriod(f"a period lies between {EARLIEST:%Y} and {LATEST:%Y}")
    if until - since > MAX_PERIOD:
        raise BadPeriod(f"since must be before until, at most {MAX_PERIOD.days} days apart")
    return since, until


def combine(
    *,
    name: str,
    since: datetime,
    until: datetime,
    conversations: dict[str, Any],
    understanding: dict[str, Any],
    money: dict[str, Any] | None,
    refunds: dict[str, Any] | None,
    alerts: dict[str, Any] | None,
) -> dict[str, Any]:
    """The summary; a part the refund service could not give is None and named in `unavailable`."""
    refund_side = None
    if refunds is not None:
        refund_side = {key: value for key, value in refunds.items() if key not in ("since", "until")}
    unavailable = [part for part, value in (("refunds", refunds), ("time_to_money", money), ("alerts", alerts))
                   if value is None]
    return {
        "period": {"name": name, "since": since, "until": until},
        "conversations": conversations,
        "understanding": understanding,
        "time_to_money": money,
        "refunds": refund_side,
        "alerts": None if alerts is None else alerts["alerts"],
        "alert_rule": None if alerts is None else alerts["rule"],
        "unavailable": unavailable,
    }


def matching_alerts(alerts: list[dict[str, Any]], lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The alerts about these order lines' SKUs or merchants (shown beside a conversation in the agents' console)."""
    skus = {line.get("sku") for line in lines} - {None}
    merchants = {line.get("merchant_id") for line in lines} - {None}
    return [a for a in alerts if (a["scope"] == "sku" and a["key"] in skus)
            or (a["scope"] == "merchant" and a["key"] in merchants)]
