"""Operations: the /ops page and its summary of a period (roles ops and supervisor), and the systemic-issue alerts
about a conversation's goods, which the agents' console shows beside it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import datetime, timezone
from typing import Annotated, Any, Literal, TypeVar

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from bot.gateway import orders
from bot.gateway.context import Gateway
from bot.gateway.deps import GatewayDep, _staff
from bot.gateway.errors import GatewayError
from bot.gateway.routes.pages import STATIC
from bot.ops import report, summary
from bot.refunds.client import RefundsError
from bot.tokens import Principal

log = logging.getLogger(__name__)
router = APIRouter()
T = TypeVar("T")


async def ops_viewer(request: Request) -> Principal:
    return await _staff(request, "ops", "supervisor")


OpsDep = Annotated[Principal, Depends(ops_viewer)]


@router.get("/ops", include_in_schema=False)
async def ops_page() -> FileResponse:
    return FileResponse(STATIC / "ops.html", headers={"Cache-Control": "no-cache"})


@router.get("/api/ops/me")
async def me(who: OpsDep) -> dict[str, str]:
    """Who the page is signed in as (an ops or supervisor token)."""
    return {"ops_id": who.subject, "role": who.role}


async def _unless_down(call: Awaitable[T], what: str) -> T | None:
    """The refund service's answer, or None when it cannot give one (the page shows the rest)."""
    try:
        return await call
    except (RefundsError, httpx.HTTPError) as exc:
        log.warning("the refund service could not give %s: %r", what, exc)
        return None


@router.get("/api/ops/summary")
async def ops_summary(
    gw: GatewayDep,
    _: OpsDep,
    period: Literal["24h", "7d", "30d", "custom"] = "24h",
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """Conversations, containment, handoffs by reason, fallbacks, first message to money (median, p90), refund
    against coupon, refunds by case type, SKU and merchant, the most misunderstood texts and the standing alerts,
    for the last 24 h, 7 d, 30 d or a custom [since, until)."""
    try:
        start, end = report.period_bounds(period, since, until, now=datetime.now(timezone.utc))
    except report.BadPeriod as exc:
        raise GatewayError(422, "bad_period", "时间段不正确：开始须早于结束，相隔不超过366天，且在2000年至2100年之间",
                           str(exc)) from exc
    async def time_to_money() -> dict[str, Any] | None:
        # joined to the conversations while the refund service still counts the rest
        paid = await _unless_down(gw.refunds.first_money(start, end), "the period's money")
        return None if paid is None else await gw.db.run(summary.time_to_money, **paid, since=start, until=end)

    refunds, alerts, money, conversations, understanding = await asyncio.gather(
        _unless_down(gw.refunds.period_stats(start, end), "the period's refunds"),
        _unless_down(gw.refunds.alerts(), "the alerts"),
        time_to_money(),
        gw.db.run(summary.conversations, since=start, until=end),
        gw.db.run(summary.understanding, since=start, until=end),
    )
    return report.combine(name=period, since=start, until=end, conversations=conversations,
                          understanding=understanding, money=money, refunds=refunds, alerts=alerts)


async def conversation_alerts(gw: Gateway, conv: dict[str, Any]) -> list[dict[str, Any]]:
    """The standing alerts about the goods of a conversation (its order's lines and its refunds' lines), for the
    agents' console; none when the refund service cannot say (the console must work without them)."""
    lines = list((conv.get("order") or {}).get("lines") or [])
    known = {conv.get("order_id")}
    for order_id in {r.get("order_id") for r in conv.get("refunds") or []} - known:
        order = await orders.get_order(gw, str(order_id))
        lines += (order or {}).get("lines") or []
    if not lines:
        return []
    standing = await _unless_down(gw.refunds.alerts(), f"the alerts for {conv.get('conversation_id')}")
    return report.matching_alerts(standing["alerts"], lines) if standing else []
