"""Systemic-issue alerts: a spike of one case type on one SKU (and its merchant) is flagged within the window it
happens in; a seller with the same high volume every day never is; neither are small or old bursts."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import httpx
from sqlalchemy.orm import Session

from bot.policy import alert_rule
from bot.refunds.alerts import current_alerts
from bot.refunds.models import utcnow
from bot.tokens import mint
from tests.ops import planting
from tests.refunds.conftest import Server

HOUR = timedelta(hours=1)


def plant_market(session: Session, now: datetime) -> None:
    """Four sellers over the 29 days before `now` (the policy: 24 h window, 28 days of baseline, N=10, k=3):
    - MUG-1 (merchant m-mugs): one damaged parcel a day, then 17 in the last 17 hours, plus 2 wrong items;
    - PEN-1 (m-pens): 30 damaged parcels every single day, the last 24 h included;
    - NEW-1 (m-new): no history, 9 damaged in the last day;
    - OLD-1 (m-old): 17 damaged in one afternoon three days ago."""
    start = now - timedelta(days=40)
    mug, pen, new, old = planting.shopper_and_order(session, shopper="buyer", order="OM1", at=start, lines=[
        ("MUG-1", "m-mugs", 2000), ("PEN-1", "m-pens", 300), ("NEW-1", "m-new", 500), ("OLD-1", "m-old", 800)])
    for day in range(2, 29):
        planting.refund(session, line=mug, at=now - timedelta(days=day, hours=5))
    for hour in range(17):
        planting.refund(session, line=mug, at=now - (hour + 0.5) * HOUR)
    for hour in (3, 4):
        planting.refund(session, line=mug, case_type="wrong_item", at=now - hour * HOUR)
    for day in range(29):
        for n in range(30):
            planting.refund(session, line=pen, at=now - timedelta(days=day, minutes=47 * n + 1))
    for hour in range(9):
        planting.refund(session, line=new, at=now - (hour + 0.5) * HOUR)
    for minute in range(17):
        planting.refund(session, line=old, at=now - timedelta(days=3, minutes=10 * minute))
    session.commit()


def test_a_spike_is_flagged_for_its_sku_and_merchant_and_a_steady_seller_never(session: Session) -> None:
    now = utcnow()
    plant_market(session, now)
    found = current_alerts(session, now=now)["alerts"]
    assert [(a["scope"], a["key"], a["case_type"], a["count"]) for a in found] == [
        ("merchant", "m-mugs", "damaged", 17), ("sku", "MUG-1", "damaged", 17)]
    sku = found[1]
    assert sku["message_zh"] == "这款商品近24小时破损报告异常：17单"
    assert sku["usual"] == 1.0  # 27 in 28 days is below the floor of one a window
    assert sku["name"] == "商品MUG-1"
    assert found[0]["message_zh"] == "该商家近24小时破损报告异常：17单"


def test_the_spike_is_flagged_within_its_window_as_soon_as_it_is_big_enough(session: Session) -> None:
    """Walk the clock through the spike: quiet while fewer than 10, flagged from the 10th report on, and quiet
    again a window after it ended. The steady seller is quiet at every step."""
    now = utcnow()
    plant_market(session, now)
    flagged = {}
    for hours_back in (10, 8, 7, 6, 0):  # the spike's reports are 16.5 h ... 0.5 h before `now`
        at = now - hours_back * HOUR
        alerts = current_alerts(session, now=at)["alerts"]
        flagged[hours_back] = [(a["key"], a["count"]) for a in alerts if a["scope"] == "sku"]
        assert not [a for a in alerts if a["key"] in ("PEN-1", "m-pens")]
    assert flagged == {10: [], 8: [], 7: [("MUG-1", 10)], 6: [("MUG-1", 11)], 0: [("MUG-1", 17)]}
    later = current_alerts(session, now=now + 25 * HOUR)["alerts"]
    assert later == []


def test_the_thresholds_are_the_policys(session: Session) -> None:
    now = utcnow()
    plant_market(session, now)
    rule = alert_rule()
    assert (rule.window_hours, rule.baseline_days, rule.min_reports, rule.ratio) == (24, 28, 10, 3.0)
    assert current_alerts(session, now=now, rule=replace(rule, min_reports=18))["alerts"] == []
    lower = current_alerts(session, now=now, rule=replace(rule, min_reports=9))["alerts"]
    assert {(a["scope"], a["key"]) for a in lower} == {("merchant", "m-mugs"), ("sku", "MUG-1"),
                                                      ("merchant", "m-new"), ("sku", "NEW-1")}
    assert current_alerts(session, now=now, rule=replace(rule, ratio=18.0))["alerts"] == []


def test_the_merchant_side_reads_alerts_with_a_service_token(server: Server, session: Session) -> None:
    plant_market(session, utcnow())
    resp = httpx.get(f"{server.url}/alerts", headers=server.headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["rule"]["min_reports"] == 10
    assert [(a["scope"], a["key"], a["count"]) for a in body["alerts"]] == [
        ("merchant", "m-mugs", 17), ("sku", "MUG-1", 17)]
    assert body["alerts"][1]["message_zh"] == "这款商品近24小时破损报告异常：17单"
    assert httpx.get(f"{server.url}/alerts").status_code == 401
    ops = {"Authorization": f"Bearer {mint('ops', 'o1')}"}
    assert httpx.get(f"{server.url}/alerts", headers=ops).status_code == 401  # the service's callers only
