"""The agent console in headless Chromium shows the reply, release and refund-decision controls only to whoever may
use them (the holder; a supervisor may decide any refund), and tells everyone else who holds the conversation and
what to do: claim it, or ask a supervisor. The controls follow a claim made elsewhere, live."""

from __future__ import annotations

from selenium import webdriver
from selenium.webdriver.common.by import By

from bot.tokens import mint
from tests.browser.test_pages import _click, _has_text, _wait, pytestmark  # noqa: F401  (browser, sqlite)
from tests.gateway.conftest import Rig
from tests.gateway.test_handoff import _refund


def _shown(driver: webdriver.Chrome, selector: str) -> bool:
    return any(e.is_displayed() for e in driver.find_elements(By.CSS_SELECTOR, selector))


def _sign_in(driver: webdriver.Chrome, rig: Rig, token: str) -> None:
    driver.get(rig.url + "/agent")
    driver.execute_script("localStorage.setItem('agentToken', arguments[0])", token)
    driver.get(rig.url + "/agent")
    _wait(driver, lambda d: d.find_element(By.ID, "console").is_displayed())


def test_decision_and_reply_controls_only_for_the_holder_and_supervisors(rig: Rig, browser, shots) -> None:  # noqa: ANN001
    cid = rig.open("s2", "O2001")
    rid = _refund(rig, "s2", "O2001", "O2001-2", cid, f"perm-{cid}")["refund_id"]
    assert rig.post(f"/api/conversations/{cid}/handoff", rig.shopper("s2")).status_code == 200
    box = f"[data-refund='{rid}']"
    decide = f"{box} .ok-btn, {box} .no-btn"

    a1 = browser("a1", 1366, 900)
    _sign_in(a1, rig, mint("agent", "a1"))
    boss = browser("boss", 1366, 900)
    _sign_in(boss, rig, mint("supervisor", "boss"))
    for driver in (a1, boss):
        _click(driver, f"#queue [data-cid='{cid}']")
        _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, box))

    # waiting in the queue: an agent must claim it first; a supervisor may decide the refund already
    _wait(a1, lambda d: _shown(d, "#claim-btn") and _shown(d, "#conv-hint"))
    assert "接入" in a1.find_element(By.ID, "conv-hint").text
    assert not _shown(a1, decide) and not _shown(a1, "#reply-input") and not _shown(a1, "#release-btn")
    assert _has_text(f"{box} .decide-hint", "接入")(a1)
    _wait(boss, lambda d: _shown(d, decide))
    a1.save_screenshot(str(shots / "perm-01-agent-queued.png"))

    # a2 claims it elsewhere: both pages follow, live
    assert rig.post(f"/api/agent/conversations/{cid}/claim", rig.agent("a2")).status_code == 200
    _wait(a1, _has_text("#conv-holder", "由 a2 接待"))
    _wait(a1, lambda d: not _shown(d, "#claim-btn") and _has_text("#conv-hint", "主管")(d))
    assert "a2" in a1.find_element(By.ID, "conv-hint").text
    assert not _shown(a1, decide) and not _shown(a1, "#reply-input") and not _shown(a1, "#release-btn")
    assert _has_text(f"{box} .decide-hint", "a2")(a1)
    a1.save_screenshot(str(shots / "perm-02-agent-not-holder.png"))
    _wait(boss, _has_text("#conv-holder", "由 a2 接待"))
    assert _shown(boss, decide)  # a supervisor decides any refund ...
    assert not _shown(boss, "#reply-input") and not _shown(boss, "#release-btn")  # ... but replies only as holder
    boss.save_screenshot(str(shots / "perm-03-supervisor.png"))

    # the holder has every control
    _sign_in(a1, rig, mint("agent", "a2"))
    _click(a1, f"#mine [data-cid='{cid}']")
    _wait(a1, lambda d: _shown(d, decide) and _shown(d, "#reply-input") and _shown(d, "#release-btn"))
    assert not _shown(a1, "#conv-hint")
    a1.save_screenshot(str(shots / "perm-04-holder.png"))

    # and the supervisor's decision goes through
    _click(boss, f"{box} .ok-btn")
    _wait(boss, lambda d: d.find_elements(By.CSS_SELECTOR, f"{box} [data-state=settled]"))
    for driver in (a1, boss):
        assert not [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
