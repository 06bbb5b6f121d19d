"""Systemic-issue alerts: one case type reported on one SKU (or one merchant) far more often than usual.

The rule (data/policy.yml `alerts:`, `bot.policy.alert_rule`): within the last `window_hours`, at least `min_reports`
refunds of one case type on one SKU (merchant), and at least `ratio` times its usual number per window. The usual
number is the count over the `baseline_days` before the window scaled to one window, never below `baseline_floor`,
so a seller whose reports are steadily high is never flagged and one with no history needs `min_reports`. Every
refund is a report whatever became of it (a rejected claim of breakage still says something about the parcel).
Computed from the refunds (one grouped query per scope over an index on refunds.created_at), at most once every
REFRESH_SECONDS per database and process (`standing_alerts`): a systemic issue builds over hours, and the /ops page
and every conversation opened in the agents' console ask for them.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bot.policy import AlertRule, alert_rule
from bot.refunds.models import OrderLine, Refund, utcnow

# How a case type is named in an alert (这款商品近24小时破损报告异常：17单).
CASE_NAMES = {
    "damaged": "破损",
    "missing_item": "少件",
    "wrong_item": "发错货",
    "not_as_described": "与描述不符",
    "not_delivered": "未收到货",
}
SCOPES = {"sku": (OrderLine.sku, "这款商品"), "merchant": (OrderLine.merchant_id, "该商家")}


def window_words(hours: int) -> str:
    return f"{hours // 24}天" if hours > 24 and hours % 24 == 0 else f"{hours}小时"


def message_zh(scope: str, case_type: str, count: int, hours: int) -> str:
    who = SCOPES[scope][1]
    return f"{who}近{window_words(hours)}{CASE_NAMES.get(case_type, case_type)}报告异常：{count}单"


def _scope_alerts(session: Session, scope: str, rule: AlertRule, now: datetime) -> list[dict[str, Any]]:
    key = SCOPES[scope][0]
    window_start = now - timedelta(hours=rule.window_hours)
    baseline_start = window_start - timedelta(days=rule.baseline_days)
    recent = func.sum(case((Refund.created_at >= window_start, 1), else_=0))
    before = func.sum(case((Refund.created_at < window_start, 1), else_=0))
    rows = session.connection().execute(
        select(key, Refund.case_type, recent, before, func.max(OrderLine.name))
        .join(OrderLine, OrderLine.line_id == Refund.line_id)
        .where(Refund.created_at >= baseline_start, Refund.created_at < now, key.is_not(None))
        .group_by(key, Refund.case_type)
        .having(recent >= rule.min_reports)
    ).all()
    windows_in_baseline = rule.baseline_days * 24 / rule.window_hours
    out = []
    for value, case_type, count, history, name in rows:
        usual = max(int(history or 0) / windows_in_baseline, rule.baseline_floor)
        if int(count) < rule.ratio * usual:
            continue
        out.append({
            "scope": scope,
            "key": value,
            "name": name if scope == "sku" else None,
            "case_type": case_type,
            "count": int(count),
            "usual": round(usual, 2),
            "ratio": round(int(count) / usual, 1),
            "window_hours": rule.window_hours,
            "since": window_start,
            "message_zh": message_zh(scope, case_type, int(count), rule.window_hours),
        })
    return out


def current_alerts(session: Session, *, now: datetime | None = None, rule: AlertRule | None = None) -> dict[str, Any]:
    """The alerts standing at `now` (default: this moment), the biggest jump first, with the rule that raised them."""
    now = now or utcnow()
    rule = rule or alert_rule()
    alerts = [a for scope in SCOPES for a in _scope_alerts(session, scope, rule, now)]
    alerts.sort(key=lambda a: (-a["ratio"], -a["count"], a["scope"], str(a["key"]), a["case_type"]))
    return {
        "generated_at": now,
        "rule": {"window_hours": rule.window_hours, "baseline_days": rule.baseline_days,
                 "min_reports": rule.min_reports, "ratio": rule.ratio, "baseline_floor": rule.baseline_floor},
        "alerts": alerts,
    }


REFRESH_SECONDS = 60.0
_standing: dict[str, tuple[float, dict[str, Any]]] = {}
_standing_lock = threading.Lock()


def standing_alerts(session: Session) -> dict[str, Any]:
    """`current_alerts` as computed at most REFRESH_SECONDS ago for this database (computed again after that)."""
    key = str(session.get_bind().url)
    with _standing_lock:
        cached = _standing.get(key)
        if cached is None or time.monotonic() - cached[0] > REFRESH_SECONDS:
            cached = (time.monotonic(), current_alerts(session))
            _standing[key] = cached
        return cached[1]
