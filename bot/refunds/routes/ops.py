"""The operations figures the refund service owns: a period's refunds and coupons (for the gateway's /ops page) and
the systemic-issue alerts (for /ops, the agents' console and the merchant side)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from bot.refunds import alerts, stats
from bot.refunds.deps import SessionDep
from bot.refunds.errors import Invalid

router = APIRouter(tags=["operations"])
MAX_PERIOD = timedelta(days=400)


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def _json(body: dict[str, Any]) -> Response:
    """Encoded directly: a period's money per conversation is tens of thousands of numbers, which FastAPI's
    field-by-field encoder would take longer over than the SQL that found them."""
    return Response(json.dumps(body, default=_iso, ensure_ascii=False), media_type="application/json")


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise Invalid("naive_time", f"{name} needs a time zone (e.g. 2026-12-01T00:00:00+08:00)")
    try:
        return value.astimezone(timezone.utc)
    except OverflowError as exc:  # the first or last day a datetime holds, moved into UTC
        raise Invalid("bad_period", f"{name} is out of range") from exc


def _period(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    since, until = _aware(since, "since"), _aware(until, "until")
    if not (since < until and until - since <= MAX_PERIOD):
        raise Invalid("bad_period", f"since must be before until, at most {MAX_PERIOD.days} days apart")
    return since, until


@router.get("/stats/period")
def period(since: datetime, until: datetime, session: SessionDep) -> Response:
    """Refunds and coupons created in [since, until) by state, case type, SKU and merchant (top 10), refund against
    coupon, the share settled at once, and creation-to-settlement seconds (count, median, p90 by nearest rank) of the
    refunds settled in the period."""
    since, until = _period(since, until)
    return _json(stats.period_stats(session, since=since, until=until))


@router.get("/stats/first-money")
def period_money(since: datetime, until: datetime, session: SessionDep) -> Response:
    """Per conversation, the first money paid in [since, until) (a refund settled, a coupon issued):
    `{"conversation_ids": [...], "paid_at": [epoch seconds]}`. Apart from /stats/period so that the gateway can
    join it to its conversations while the rest is still being counted."""
    since, until = _period(since, until)
    return _json(stats.first_money(session, since=since, until=until))


@router.get("/alerts")
def list_alerts(session: SessionDep) -> Response:
    """The systemic-issue alerts standing now (policy.yml `alerts:`; recomputed at most once a minute): per SKU or
    merchant and case type, `count` reports in the window against `usual` per window, with `message_zh`
    (这款商品近24小时破损报告异常：17单)."""
    return _json(alerts.standing_alerts(session))
