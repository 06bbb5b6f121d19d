"""GET /api/ops/summary and the page /ops on a real gateway and refund service: who may read them, and the figures
of a small planted period, each worked out by hand below."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.db import make_engine
from bot.refunds.models import OrderLine
from bot.tokens import mint
from tests.gateway.conftest import Rig, auth
from tests.ops import planting

# The planted period: one day, long ago, so the demo seed's refunds (the last 20 days) are outside it.
T0 = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(days=200)
DAY = timedelta(days=1)
S = timedelta(seconds=1)


def at(seconds: float) -> datetime:
    return T0 + seconds * S


def plant_period(session: Session) -> None:
    """Conversations c0 (started an hour before the period), c1..c6 (inside), c7 (after).
    Handoffs: c0 asked (inside), c2 asked, c3 risk and asked, c4 fallback twice, c7 asked.
    Shopper texts parsed inside: 8, of which 2 fell back; outside: 1 before (fallback), 1 after.
    Money: c1 refund settled by the bot 600 s after c1 opened; c5 a coupon 1200 s after; c3 refund settled by
    agent a1 3600 s after; c0 refund created before the period, settled inside 7200 s after c0 opened.
    Refunds created inside: r1 (pen, damaged, ¥3.50, 极速退款), r2 (notebook, missing, ¥12.90, by a1), r3 (two pens,
    damaged, ¥7.00, waiting for review)."""
    for line_id in ("O1001-1", "O1001-2"):  # the pen and the notebook are sold by one stationer
        line = session.get(OrderLine, line_id)
        assert line is not None
        line.merchant_id = "m-stationery"
    starts = {"c0": -3600, "c1": 0, "c2": 1000, "c3": 2000, "c4": 3000, "c5": 18000, "c6": 20000, "c7": 90000}
    for cid, start in starts.items():
        planting.conversation(session, cid, at=at(start))
        planting.message(session, cid, at=at(start), sender="bot", text="您好")
    for cid, start, reason in [("c0", 60, "asked"), ("c2", 1100, "asked"), ("c3", 2100, "risk"),
                               ("c3", 2200, "asked"), ("c4", 3100, "fallback"), ("c4", 3300, "fallback"),
                               ("c7", 90100, "asked")]:
        planting.handoff(session, cid, at=at(start), reason=reason)
    for cid, start, intent in [("c1", 10, "report_damaged"), ("c1", 20, "choose_refund"), ("c2", 1010, "nlu_fallback"),
                               ("c2", 1020, "request_human"), ("c3", 2010, "report_missing_item"),
                               ("c4", 3010, "nlu_fallback"), ("c5", 18010, "report_damaged"), ("c6", 20010, "greet"),
                               ("c0", -3000, "nlu_fallback"), ("c7", 90010, "greet")]:
        planting.message(session, cid, at=at(start), intent=intent)
    planting.refund(session, line="O1001-1", at=at(60), amount=350, state="settled", settled_at=at(600),
                    decided_by="system", conversation="c1")
    planting.refund(session, line="O1001-2", case_type="missing_item", at=at(2600), amount=1290, state="settled",
                    settled_at=at(5600), decided_by="a1", conversation="c3")
    planting.refund(session, line="O1001-1", at=at(20100), amount=700, state="needs_review", conversation="c6")
    planting.refund(session, line="O1001-3", at=at(-1800), amount=15900, state="settled", settled_at=at(3600),
                    decided_by="a2", conversation="c0")
    planting.coupon(session, line="O1001-3", at=at(19200), value=750, conversation="c5")
    planting.inbox_hits(session, "发票怎么开", "c2", [at(100), at(200), at(300)])
    planting.inbox_hits(session, "快递丢了咋整", "c4", [at(400), at(-5000), at(-6000), at(-7000), at(-8000)])
    planting.inbox_hits(session, "在吗在吗", "c4", [at(-9000)])
    session.commit()


@pytest.fixture
def planted(rig: Rig) -> Rig:
    engine = make_engine(rig.db_url)
    with sessionmaker(bind=engine, future=True)() as session:
        plant_period(session)
    engine.dispose()
    return rig


def _custom(rig: Rig, who: dict[str, str]) -> dict:
    params = {"period": "custom", "since": T0.isoformat(), "until": (T0 + DAY).isoformat()}
    resp = rig.get("/api/ops/summary", who, params=params)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_ops_and_supervisors_read_the_summary_and_nobody_else(rig: Rig) -> None:
    for role in ("ops", "supervisor"):
        resp = rig.get("/api/ops/summary?period=7d", auth(mint(role, f"{role}1")))
        assert resp.status_code == 200, (role, resp.text)
        assert resp.json()["period"]["name"] == "7d"
    for who in (auth(mint("agent", "a1")), auth(mint("trainer", "t1")), rig.shopper("s1"), {}):
        resp = rig.get("/api/ops/summary", who)
        assert resp.status_code == 401, resp.text
        assert resp.json()["message_zh"]
    assert rig.get("/api/ops/me", auth(mint("ops", "ops1"))).json() == {"ops_id": "ops1", "role": "ops"}
    page = rig.client.get(rig.url + "/ops")
    assert page.status_code == 200 and "/static/ops.js" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_a_period_that_is_not_one_is_refused_in_chinese(rig: Rig) -> None:
    ops = auth(mint("ops", "ops1"))
    for params in ({"period": "custom"}, {"period": "custom", "since": "2026-12-02T00:00:00+00:00",
                                           "until": "2026-12-01T00:00:00+00:00"},
                   {"period": "custom", "since": "2026-01-01T00:00:00", "until": "2026-01-02T00:00:00"},
                   {"period": "custom", "since": "2024-01-01T00:00:00+00:00", "until": "2026-01-01T00:00:00+00:00"}):
        resp = rig.get("/api/ops/summary", ops, params=params)
        assert resp.status_code == 422, (params, resp.text)
        assert resp.json()["code"] == "bad_period" and "时间段" in resp.json()["message_zh"]
    assert rig.get("/api/ops/summary?period=1y", ops).status_code == 422


def test_the_figures_of_a_planted_period(planted: Rig) -> None:
    body = _custom(planted, auth(mint("ops", "ops1")))
    conv = body["conversations"]
    # c1..c6 started inside; c2, c3, c4 were handed over (c3 twice, c4 twice: once each)
    assert (conv["started"], conv["handed_off"], conv["contained"]) == (6, 3, 3)
    assert conv["containment_rate"] == pytest.approx(3 / 6)
    assert conv["handoffs_by_reason"] == {
        "asked": {"count": 2, "rate": pytest.approx(2 / 6)},  # c2, c3
        "fallback": {"count": 1, "rate": pytest.approx(1 / 6)},  # c4
        "risk": {"count": 1, "rate": pytest.approx(1 / 6)},  # c3
    }
    series = conv["series"]  # hours from T0: c1..c4 in hour 0, c5 in hour 5, c6 in hour 5 (20000 s)
    assert series["bucket"] == "hour" and len(series["started"]) == len(series["starts"]) == 24
    assert datetime.fromisoformat(series["starts"][0]) == T0
    assert series["started"][0] == 4 and series["started"][5] == 2 and sum(series["started"]) == 6
    assert series["handed_off"][0] == 3 and sum(series["handed_off"]) == 3

    und = body["understanding"]
    assert (und["parsed"], und["fallbacks"]) == (8, 2)
    assert und["fallback_rate"] == pytest.approx(0.25)
    assert [(t["text"], t["hits"]) for t in und["misunderstood"]] == [("发票怎么开", 3), ("快递丢了咋整", 1)]

    money = body["time_to_money"]  # c1 600 s, c5 1200 s (bot alone); c3 3600 s, c0 7200 s (with a person)
    assert money["all"] == {"count": 4, "median_seconds": 1200, "p90_seconds": 7200}
    assert money["bot_only"] == {"count": 2, "median_seconds": 600, "p90_seconds": 1200}
    assert money["with_agent"] == {"count": 2, "median_seconds": 3600, "p90_seconds": 7200}
    assert money["settled_by_bot"] == 2  # c1 and c5; c0 started before the period

    refunds = body["refunds"]
    assert (refunds["refunds"]["count"], refunds["refunds"]["amount_cents"]) == (3, 350 + 1290 + 700)
    assert refunds["refunds"]["auto_settled"] == 1
    assert refunds["refunds"]["auto_settled_rate"] == pytest.approx(1 / 3)
    assert refunds["refunds"]["by_state"] == {"settled": 2, "needs_review": 1}
    assert refunds["refunds"]["by_case_type"] == [
        {"case_type": "damaged", "count": 2, "amount_cents": 1050},
        {"case_type": "missing_item", "count": 1, "amount_cents": 1290},
    ]
    assert refunds["coupons"] == {"count": 1, "value_cents": 750}
    assert refunds["remedies"] == {"refund": 3, "coupon": 1, "coupon_rate": pytest.approx(0.25)}
    assert [(s["key"], s["count"], s["amount_cents"], s["by_case_type"]) for s in refunds["by_sku"]] == [
        ("PEN-MG-05-BK", 2, 1050, {"damaged": 2}), ("NB-DL-A5", 1, 1290, {"missing_item": 1})]
    assert refunds["by_sku"][0]["name"] == "晨光中性笔 0.5mm 黑色"
    assert [(m["key"], m["count"]) for m in refunds["by_merchant"]] == [("m-stationery", 3)]
    # settled inside: r1 540 s, c3's 3000 s, c0's 5400 s after their creation
    assert refunds["settle_seconds"] == {"count": 3, "median_seconds": 3000, "p90_seconds": 5400}
    assert body["unavailable"] == [] and body["alerts"] == []



def test_the_agents_console_shows_the_alert_beside_conversations_about_the_goods(rig: Rig) -> None:
    """Thirteen broken thermos cups (O1001-3) since this morning: the conversations about that order, or with a
    refund of it, carry the alert; a conversation about other goods does not."""
    about_order = rig.open("s1", "O1001")
    about_refund = rig.open("s1")  # no order given when the chat opened; its refund names the cup
    elsewhere = rig.open("s2", "O2001")
    now = datetime.now(timezone.utc)
    engine = make_engine(rig.db_url)
    with sessionmaker(bind=engine, future=True)() as session:
        for i in range(12):
            planting.refund(session, line="O1001-3", at=now - timedelta(minutes=20 + 30 * i), amount=15900)
        planting.refund(session, line="O1001-3", at=now - timedelta(minutes=5), amount=15900,
                        conversation=about_refund)
        session.commit()
    engine.dispose()
    agent = rig.agent("a1")
    for cid in (about_order, about_refund):
        resp = rig.get(f"/api/agent/conversations/{cid}", agent)
        assert resp.status_code == 200, resp.text
        assert [(a["key"], a["message_zh"]) for a in resp.json()["alerts"]] == [
            ("CUP-TM-500", "这款商品近24小时破损报告异常：13单")]
    assert rig.get(f"/api/agent/conversations/{elsewhere}", agent).json()["alerts"] == []
