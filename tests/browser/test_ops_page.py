"""The operations board in headless Chromium: an ops token opens /ops and sees the day's figures, the charts drawn
as SVG, and the systemic-issue alert; the screenshot is kept with the others."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from sqlalchemy.orm import sessionmaker

from bot.db import make_engine
from bot.refunds.models import utcnow
from bot.tokens import mint
from tests.browser.test_pages import _click, _has_text, _type, _wait
from tests.gateway.conftest import Rig
from tests.ops import planting

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]
HANDED = {2: "asked", 5: "risk", 7: "fallback"}


def plant_day(rig: Rig) -> None:
    """Ten conversations in the last ten hours, three handed over, one text in four not understood, pens settled
    at once, and twelve broken thermos cups since this morning (a systemic issue: the cup's usual is zero)."""
    now = utcnow()
    engine = make_engine(rig.db_url)
    with sessionmaker(bind=engine, future=True)() as s:
        for i in range(10):
            cid, start = f"day{i}", now - timedelta(hours=10 - i)
            planting.conversation(s, cid, at=start)
            planting.message(s, cid, at=start + timedelta(seconds=5), intent="nlu_fallback" if i % 4 == 0 else "greet")
            if i in HANDED:
                planting.handoff(s, cid, at=start + timedelta(minutes=2), reason=HANDED[i])
            elif i % 2:
                planting.refund(s, line="O1001-1", at=start + timedelta(minutes=3), amount=350, state="settled",
                                settled_at=start + timedelta(minutes=3, seconds=2), decided_by="system",
                                conversation=cid)
        planting.coupon(s, line="O1001-2", at=now - timedelta(hours=2), value=1935, conversation="day8")
        for i in range(12):
            planting.refund(s, line="O1001-3", at=now - timedelta(minutes=30 + 20 * i), amount=15900,
                            state="needs_review")
        planting.inbox_hits(s, "发票怎么开", "day0", [now - timedelta(hours=3), now - timedelta(hours=1)])
        s.commit()
    engine.dispose()


def test_an_ops_token_opens_the_board_and_sees_charts_and_the_alert(rig: Rig, browser, shots: Path) -> None:  # noqa: ANN001
    plant_day(rig)
    page = browser("ops", 1280, 1500)
    page.get(rig.url + "/ops")
    _type(page, "#token-input", mint("ops", "ops1"))
    _click(page, "#token-btn")
    _wait(page, lambda d: d.execute_script("return document.body.dataset.loaded") == "24h")
    assert _has_text("#me", "ops1")(page)

    kpis = page.find_element(By.ID, "kpis").text
    assert "会话数\n10" in kpis
    assert "机器人独立解决率\n70.0%" in kpis and "转人工率\n30.0%" in kpis
    assert "未听懂率\n30.0%" in kpis  # 3 of 10 texts (day0, day4, day8)
    alert = page.find_element(By.CSS_SELECTOR, ".ops-alert[data-key='CUP-TM-500']").text
    assert "这款商品近24小时破损报告异常：12单" in alert
    # the charts are drawn: columns for the day, bars for reasons, the ring of refund against coupon
    assert len(page.find_elements(By.CSS_SELECTOR, "#chart-trend svg rect")) >= 10
    assert len(page.find_elements(By.CSS_SELECTOR, "#chart-handoffs svg rect")) == 3
    assert page.find_elements(By.CSS_SELECTOR, "#chart-remedy svg path")
    assert _has_text("#chart-cases", "商品破损")(page) and _has_text("#chart-skus", "膳魔师保温杯")(page)
    assert _has_text("#misunderstood", "发票怎么开")(page)
    page.save_screenshot(str(shots / "ops-01-board.png"))

    _click(page, "button[data-period='7d']")
    _wait(page, lambda d: d.execute_script("return document.body.dataset.loaded") == "7d")
    assert "会话数\n10" in page.find_element(By.ID, "kpis").text
    assert not [e for e in page.get_log("browser") if e["level"] == "SEVERE"]
