"""What the refund service tells the /ops page about a period: refunds by case type, SKU and merchant, refund against
coupon, amounts, the share settled at once (极速退款), creation to settlement, and each conversation's first money.

A period is [since, until). Refunds and coupons count in the period they were created in; settlement times and money
per conversation in the period the money moved in (settled_at, a coupon's created_at). Every figure is aggregated in
SQL over a range of an indexed time column (migration 0008); only the durations come back row by row, as numbers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal_column, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.ops.figures import rate, spread
from bot.refunds.models import Coupon, OrderLine, Refund
from bot.refunds.service import SYSTEM

TOP = 10  # SKUs and merchants listed, most reports first


def epoch(session: Session, column: Any) -> ColumnElement:
    """Seconds since 1970 of a UTC timestamp column, computed by the database (no datetime objects per row)."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(column) - literal_column("2440587.5")) * literal_column("86400.0")
    return func.extract("epoch", column)


def _in(column: Any, since: datetime, until: datetime) -> ColumnElement:
    return and_(column >= since, column < until)


def _auto() -> ColumnElement:
    """Settled at once by the service itself (极速退款): no agent decided it."""
    return and_(Refund.state == "settled", Refund.decided_by == SYSTEM)


def _by_case_type(session: Session, since: datetime, until: datetime) -> dict[str, Any]:
    rows = session.connection().execute(
        select(Refund.case_type, Refund.state, func.count(), func.sum(Refund.amount_cents),
               func.sum(case((_auto(), 1), else_=0)))
        .where(_in(Refund.created_at, since, until))
        .group_by(Refund.case_type, Refund.state)
    ).all()
    total = {"count": 0, "amount_cents": 0, "auto_settled": 0}
    states: dict[str, int] = defaultdict(int)
    cases: dict[str, dict[str, int]] = defaultdict(lambda: {"count": 0, "amount_cents": 0})
    for case_type, state, n, cents, auto in rows:
        states[state] += int(n)
        cases[case_type]["count"] += int(n)
        cases[case_type]["amount_cents"] += int(cents or 0)
        total["count"] += int(n)
        total["amount_cents"] += int(cents or 0)
        total["auto_settled"] += int(auto or 0)
    by_case = [{"case_type": c, **v} for c, v in sorted(cases.items(), key=lambda kv: (-kv[1]["count"], kv[0]))]
    return {**total, "auto_settled_rate": rate(total["auto_settled"], total["count"]), "by_state": dict(states),
            "by_case_type": by_case}


def _by_goods(session: Session, since: datetime, until: datetime, *, top: int) -> dict[str, list[dict[str, Any]]]:
    """Refunds created in the period by SKU and by merchant (the `top` with most reports), each with its case types;
    one pass over the refunds joined to their lines, the names read for the listed SKUs only."""
    rows = session.connection().execute(
        select(OrderLine.sku, OrderLine.merchant_id, Refund.case_type, func.count(), func.sum(Refund.amount_cents))
        .join(OrderLine, OrderLine.line_id == Refund.line_id)
        .where(_in(Refund.created_at, since, until))
        .group_by(OrderLine.sku, OrderLine.merchant_id, Refund.case_type)
    ).all()
    skus: dict[Any, dict[str, Any]] = {}
    merchants: dict[Any, dict[str, Any]] = {}
    for sku, merchant, case_type, n, cents in rows:
        for groups, key in ((skus, sku), (merchants, merchant)):
            group = groups.setdefault(key, {"key": key, "name": None, "count": 0, "amount_cents": 0,
                                            "by_case_type": {}})
            group["count"] += int(n)
            group["amount_cents"] += int(cents or 0)
            group["by_case_type"][case_type] = group["by_case_type"].get(case_type, 0) + int(n)

    def most(groups: dict[Any, dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(groups.values(), key=lambda g: (-g["count"], str(g["key"])))[:top]

    by_sku = most(skus)
    names = dict(session.connection().execute(
        select(OrderLine.sku, func.max(OrderLine.name)).where(OrderLine.sku.in_([g["key"] for g in by_sku]))
        .group_by(OrderLine.sku)).all()) if by_sku else {}
    for group in by_sku:
        group["name"] = names.get(group["key"])
    return {"by_sku": by_sku, "by_merchant": most(merchants)}


def _coupons(session: Session, since: datetime, until: datetime) -> dict[str, int]:
    n, cents = session.connection().execute(
        select(func.count(), func.sum(Coupon.value_cents)).where(_in(Coupon.created_at, since, until))
    ).one()
    return {"count": int(n), "value_cents": int(cents or 0)}


def _settle_seconds(session: Session, since: datetime, until: datetime) -> dict[str, Any]:
    seconds = epoch(session, Refund.settled_at) - epoch(session, Refund.created_at)
    query = select(seconds).where(_in(Refund.settled_at, since, until))
    values = [float(s) for (s,) in session.connection().execute(query)]
    return spread(values)


def first_money(session: Session, *, since: datetime, until: datetime) -> dict[str, list[Any]]:
    """Per conversation, the first money that moved in the period (a refund settled, a coupon issued), as epoch
    seconds: `{"conversation_ids": [...], "paid_at": [...]}` (two lists, compact for tens of thousands)."""
    first: dict[str, float] = {}
    for query in (
        select(Refund.conversation_id, epoch(session, Refund.settled_at)).where(
            _in(Refund.settled_at, since, until), Refund.conversation_id.is_not(None)),
        select(Coupon.conversation_id, epoch(session, Coupon.created_at)).where(
            _in(Coupon.created_at, since, until), Coupon.conversation_id.is_not(None)),
    ):
        for cid, at in session.connection().execute(query):
            # most conversations have one payment: keeping the first here is cheaper than an SQL GROUP BY
            if cid not in first or float(at) < first[cid]:
                first[cid] = float(at)
    return {"conversation_ids": list(first), "paid_at": list(first.values())}


def period_stats(session: Session, *, since: datetime, until: datetime, top: int = TOP) -> dict[str, Any]:
    """Everything the refund service knows about the period, for GET /stats/period."""
    refunds = _by_case_type(session, since, until)
    coupons = _coupons(session, since, until)
    return {
        "since": since,
        "until": until,
        "refunds": refunds,
        "coupons": coupons,
        "remedies": {"refund": refunds["count"], "coupon": coupons["count"],
                     "coupon_rate": rate(coupons["count"], refunds["count"] + coupons["count"])},
        **_by_goods(session, since, until, top=top),
        "settle_seconds": _settle_seconds(session, since, until),
    }
