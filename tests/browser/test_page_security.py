"""The pages under their Content-Security-Policy in headless Chromium.

Text full of HTML and script, typed by a shopper, is shown as text everywhere it goes: the shopper's chat, the
agent console (which marks it misunderstood) and the trainer's inbox. No alert fires, no element is injected, and
the pages' own code breaks no rule of the policy (the browser logs nothing SEVERE). The trainer's evaluation report
still opens styled."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from bot.trainer.report import STYLE as REPORT_STYLE
from tests.browser.test_pages import _cid, _click, _wait
from tests.gateway.conftest import Rig

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

HOSTILE = (
    '<img src=x onerror=alert(1)><script>alert(2)</script>"><svg onload=alert(3)>'
    "<a href=\"javascript:alert(4)\">点我</a><iframe src=javascript:alert(5)></iframe>"
)
INJECTED = "img[src='x'], script, svg[onload], a[href^='javascript'], iframe"


def _shows_as_text(selector: str) -> object:
    return lambda d: any(HOSTILE in e.text for e in d.find_elements(By.CSS_SELECTOR, selector))


def _assert_harmless(driver: webdriver.Chrome, region: str) -> None:
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert  # noqa: B018 (the property raises when no alert is open)
    assert driver.find_elements(By.CSS_SELECTOR, ", ".join(f"{region} {s}" for s in INJECTED.split(", "))) == []
    logs = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not logs, logs  # a CSP violation by the page's own code is logged as SEVERE


def test_html_typed_by_a_shopper_stays_text(trainer_rig: Rig, browser, shots) -> None:  # noqa: ANN001
    rig = trainer_rig
    shop = browser("shopper", 390, 844)
    shop.get(rig.url + "/")
    _click(shop, "[data-shopper=s1]")
    _click(shop, "[data-order=O1001] button")
    _wait(shop, lambda d: d.find_elements(By.CSS_SELECTOR, ".msg.bot"))
    cid = _cid(shop)
    _wait(shop, lambda d: d.find_element(By.ID, "text-input").is_enabled())
    shop.find_element(By.ID, "text-input").send_keys(HOSTILE, Keys.ENTER)
    _wait(shop, _shows_as_text(".msg.shopper .text"))
    _wait(shop, _shows_as_text(".msg.bot"))  # the bot's echo 收到：… too
    _click(shop, "#human-btn")
    _wait(shop, lambda d: any("正在为您转接人工客服" in e.text for e in d.find_elements(By.CSS_SELECTOR, ".msg.bot")))
    shop.save_screenshot(str(shots / "hostile-01-shopper.png"))
    _assert_harmless(shop, "#messages")

    agent = browser("agent", 1366, 900)
    agent.get(rig.url + "/agent")
    _wait(agent, lambda d: d.find_element(By.ID, "demo-agent").is_displayed())
    _click(agent, "#demo-agent")
    _click(agent, f"#queue [data-cid='{cid}']")
    _wait(agent, _shows_as_text("#messages .msg.shopper .text"))
    seq = agent.find_element(By.CSS_SELECTOR, "#messages .msg.shopper .mark-btn").get_attribute("data-mark")
    _click(agent, f"#messages [data-mark='{seq}']")
    _wait(agent, lambda d: d.find_elements(By.CSS_SELECTOR, f"#messages [data-mark='{seq}'].marked"))
    agent.save_screenshot(str(shots / "hostile-02-agent.png"))
    _assert_harmless(agent, "#messages")
    _assert_harmless(agent, "#queue")

    trainer = browser("trainer", 1280, 860)
    trainer.get(rig.url + "/trainer")
    _click(trainer, "#demo-trainer")
    _wait(trainer, _shows_as_text("#inbox .q-item"))
    _click(trainer, "#inbox .q-item")
    _wait(trainer, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#sentence .ch")) == len(HOSTILE))
    chars = trainer.find_elements(By.CSS_SELECTOR, "#sentence .ch")
    assert "".join(str(e.get_attribute("textContent")) for e in chars) == HOSTILE
    _wait(trainer, lambda d: any(HOSTILE in e.text for e in d.find_elements(By.CSS_SELECTOR, ".context")))
    trainer.save_screenshot(str(shots / "hostile-03-trainer.png"))
    _assert_harmless(trainer, "#inbox")
    _assert_harmless(trainer, "#label-pane")


def test_the_evaluation_report_opens_styled_under_the_policy(trainer_rig: Rig, project: Path, browser) -> None:  # noqa: ANN001
    """The report opens as a blob: document, which inherits the trainer page's policy: its <style> is allowed."""
    buf = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 0, 0)).save(buf, "PNG")
    picture = base64.b64encode(buf.getvalue()).decode()
    (project / "results").mkdir()
    (project / "results" / "report.html").write_text(
        f'<!doctype html><meta charset="utf-8"><style>{REPORT_STYLE}</style><h1>NLU evaluation</h1>'
        f'<img id="matrix" src="data:image/png;base64,{picture}">', encoding="utf-8")

    page = browser("trainer", 1280, 860)
    page.get(trainer_rig.url + "/trainer")
    _click(page, "#demo-trainer")
    _click(page, "#report-btn")
    _wait(page, lambda d: len(d.window_handles) == 2)
    page.switch_to.window(page.window_handles[1])
    _wait(page, lambda d: d.current_url.startswith("blob:") and d.find_elements(By.ID, "matrix"))
    assert page.execute_script("return getComputedStyle(document.body).color") == "rgb(34, 34, 34)"  # #222
    assert page.execute_script("return document.getElementById('matrix').naturalWidth") == 4
    assert not [e for e in page.get_log("browser") if e["level"] == "SEVERE"]
