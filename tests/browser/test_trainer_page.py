"""The trainer page in headless Chromium: find what the bot misunderstood this week and label it."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.browser.test_pages import _click, _has_text, _wait
from tests.gateway.conftest import Rig

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


def _say(rig: Rig, shopper: str, text: str) -> None:
    cid = rig.open(shopper)
    resp = rig.post(f"/api/conversations/{cid}/messages", rig.shopper(shopper), json={"text": text})
    assert resp.status_code == 200, resp.text


def test_trainer_labels_a_message_with_an_entity(trainer_rig: Rig, project: Path, browser, shots: Path) -> None:  # noqa: ANN001
    rig = trainer_rig
    _say(rig, "s1", "发票怎么开")
    _say(rig, "s2", "发票怎么开")
    _say(rig, "s3", "收到的保温杯盖子裂开了咋办")

    page = browser("trainer", 1280, 860)
    page.get(rig.url + "/trainer")
    _click(page, "#demo-trainer")
    _wait(page, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#inbox .q-item")) == 2)
    rows = page.find_elements(By.CSS_SELECTOR, "#inbox .q-item")
    assert "发票怎么开" in rows[0].text and "2次" in rows[0].text  # most frequent first
    assert "没听懂" in rows[0].text  # why it is here
    page.save_screenshot(str(shots / "trainer-01-inbox.png"))

    _click(page, "#inbox .q-item:nth-child(2)")
    _wait(page, lambda d: d.find_elements(By.CSS_SELECTOR, "#sentence .ch"))
    assert _has_text(".context", "收到的保温杯盖子裂开了咋办")(page)  # the conversation around it
    _click(page, "#sentence .ch[data-i='3']")  # 保
    _click(page, "#sentence .ch[data-i='5']")  # 杯
    Select(page.find_element(By.ID, "entity-type")).select_by_value("item")
    _click(page, "#add-entity")
    _wait(page, _has_text("#spans", "保温杯 → item"))
    Select(page.find_element(By.ID, "intent-select")).select_by_value("report_damaged")
    page.save_screenshot(str(shots / "trainer-02-labelling.png"))
    _click(page, "#save-label")
    _wait(page, _has_text(".done-note", "report_damaged"))
    _wait(page, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#inbox .q-item")) == 1)
    page.save_screenshot(str(shots / "trainer-03-labelled.png"))

    assert not [e for e in page.get_log("browser") if e["level"] == "SEVERE"]
    written = (project / "data" / "nlu" / "report_damaged.yml").read_text(encoding="utf-8")
    assert "- 收到的[保温杯](item)盖子裂开了咋办\n" in written
