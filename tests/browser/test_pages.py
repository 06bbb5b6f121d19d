"""The whole demo in headless Chromium: a shopper chats, uploads evidence, gets a human, and sees the
refund arrive; an agent claims, replies, approves and releases. Screenshots at every step."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import ElementClickInterceptedException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from bot.tokens import mint
from tests.gateway.conftest import Rig, auth

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


def _photo(path: Path, color: tuple[int, int, int]) -> Path:
    img = Image.new("RGB", (800, 600), color)
    for x in range(0, 800, 40):
        for y in range(0, 600, 40):
            img.putpixel((x, y), (255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    return path


def _wait(driver: webdriver.Chrome, cond: Callable[[webdriver.Chrome], object], timeout: float = 15) -> object:
    # Lists are re-rendered on live events, so an element found a moment ago may be gone: retry.
    return WebDriverWait(
        driver,
        timeout,
        poll_frequency=0.1,
        ignored_exceptions=(StaleElementReferenceException, ElementClickInterceptedException),
    ).until(cond)


def _click(driver: webdriver.Chrome, selector: str) -> None:
    def attempt(d: webdriver.Chrome) -> bool:
        d.find_element(By.CSS_SELECTOR, selector).click()
        return True

    _wait(driver, attempt)


def _type(driver: webdriver.Chrome, selector: str, text: str) -> None:
    def attempt(d: webdriver.Chrome) -> bool:
        d.find_element(By.CSS_SELECTOR, selector).send_keys(text)
        return True

    _wait(driver, attempt)


def _has_text(selector: str, text: str) -> Callable[[webdriver.Chrome], bool]:
    return lambda d: any(text in e.text for e in d.find_elements(By.CSS_SELECTOR, selector))


def _cid(driver: webdriver.Chrome) -> str:
    return str(
        driver.execute_script(
            "return (await (await fetch('/api/conversations', {headers: {Authorization: "
            "'Bearer ' + localStorage.getItem('shopperToken')}})).json())[0].conversation_id"
        )
    )


def test_shopper_and_agent_full_demo(rig: Rig, browser, shots: Path, tmp_path: Path) -> None:  # noqa: ANN001
    shop = browser("shopper", 390, 844)
    shop.get(rig.url + "/")
    _wait(shop, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-shopper=s1]"))
    shop.save_screenshot(str(shots / "01-shopper-login.png"))
    _click(shop, "[data-shopper=s1]")
    _wait(shop, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-order=O1001] button"))
    shop.save_screenshot(str(shots / "02-orders.png"))
    _click(shop, "[data-order=O1001] button")
    _wait(shop, _has_text(".msg.bot", "售后小助手"))
    cid = _cid(shop)

    box = shop.find_element(By.ID, "text-input")
    box.send_keys("有一支笔坏了", Keys.ENTER)
    _wait(shop, _has_text(".msg.bot", "收到：有一支笔坏了"))
    _click(shop, ".msg.bot [data-payload='/report_damaged']")
    _wait(shop, _has_text(".msg.bot", "请上传快递外包装"))

    colors = {"package": (200, 120, 40), "label": (40, 120, 200), "items": (60, 160, 60)}
    for n, (kind, color) in enumerate(colors.items(), start=1):
        shop.find_element(By.ID, "file-input").send_keys(str(_photo(tmp_path / f"{kind}.jpg", color)))
        _wait(shop, lambda d, kind=kind: d.find_elements(By.CSS_SELECTOR, f"[data-kind={kind}]"))
        _click(shop, f"[data-kind={kind}]")
        _wait(shop, _has_text(".msg.bot", f"已收到{kind}照片"))
        _wait(
            shop,
            lambda d, n=n: len(
                [
                    i
                    for i in d.find_elements(By.CSS_SELECTOR, ".msg.shopper img.thumb")
                    if d.execute_script("return arguments[0].naturalWidth", i) > 0
                ]
            )
            == n,
        )
    shop.save_screenshot(str(shots / "03-photos-uploaded.png"))

    _click(shop, "#human-btn")
    _wait(shop, _has_text(".msg.bot", "正在为您转接人工客服"))

    agent = browser("agent", 1366, 900)
    agent.get(rig.url + "/agent")
    _wait(agent, lambda d: d.find_element(By.ID, "demo-agent").is_displayed())
    _click(agent, "#demo-agent")
    # The queue row says why it is there (the shopper asked for a person); the queue re-renders on
    # live events, so read its text through the stale-tolerant wait rather than a held element.
    _wait(agent, _has_text(f"#queue [data-cid='{cid}']", "买家要求"))
    _click(agent, f"#queue [data-cid='{cid}']")
    _wait(agent, lambda d: d.find_element(By.ID, "claim-btn").is_displayed())
    _wait(
        agent,
        lambda d: len(
            [
                i
                for i in d.find_elements(By.CSS_SELECTOR, "#messages img.thumb")
                if d.execute_script("return arguments[0].naturalWidth", i) > 0
            ]
        )
        == 3,
    )
    agent.save_screenshot(str(shots / "04-agent-queue.png"))
    _click(agent, "#claim-btn")
    _wait(shop, _has_text(".msg.bot", "已接入"))
    _wait(agent, lambda d: d.find_element(By.ID, "reply-input").is_displayed())
    agent.find_element(By.ID, "reply-input").send_keys("您好，我是客服，马上为您处理", Keys.ENTER)
    _wait(shop, _has_text(".msg.agent", "马上为您处理"))
    shop.save_screenshot(str(shots / "05-shopper-sees-agent.png"))

    # The bot's refund action would do this: a refund over the auto limit goes to review.
    resp = httpx.post(
        f"{rig.refunds_url}/refunds",
        headers={**auth(mint("service", "actions")), "Idempotency-Key": f"browser-{cid}"},
        json={
            "shopper_id": "s1",
            "order_id": "O1001",
            "line_id": "O1001-3",
            "quantity": 1,
            "case_type": "damaged",
            "photo_ids": [],
            "conversation_id": cid,
        },
    )
    assert resp.status_code == 201 and resp.json()["state"] == "needs_review", resp.text
    rid = resp.json()["refund_id"]
    _click(agent, f"#mine [data-cid='{cid}']")
    _wait(agent, lambda d: d.find_elements(By.CSS_SELECTOR, f"[data-refund='{rid}'] .ok-btn"))
    agent.save_screenshot(str(shots / "06-agent-refund-review.png"))
    _type(agent, f"[data-refund='{rid}'] input", "照片清楚，同意退款")
    _click(agent, f"[data-refund='{rid}'] .ok-btn")
    _wait(agent, lambda d: d.find_elements(By.CSS_SELECTOR, f"[data-refund='{rid}'] [data-state=settled]"))
    # the refund service's notice, told by the bot and marked as a notice on the page
    _wait(shop, _has_text(".msg.bot.notice", "已原路退回"))
    _wait(agent, _has_text("#messages .msg.bot.notice", "已原路退回"))
    _wait(shop, lambda d: d.find_elements(By.CSS_SELECTOR, f"#refund-bar [data-refund='{rid}'][data-state=settled]"))
    shop.save_screenshot(str(shots / "07-shopper-refund-arrived.png"))

    _click(agent, "#release-btn")
    _wait(shop, _has_text(".msg.bot", "智能助手继续为您服务"))
    shop.find_element(By.ID, "text-input").send_keys("谢谢", Keys.ENTER)
    _wait(shop, _has_text(".msg.bot", "收到：谢谢"))
    shop.save_screenshot(str(shots / "08-bot-resumes.png"))
    agent.save_screenshot(str(shots / "09-agent-after-release.png"))

    seqs = [int(e.get_attribute("data-seq")) for e in shop.find_elements(By.CSS_SELECTOR, "#messages .msg")]
    assert seqs == sorted(set(seqs)) and seqs == list(range(1, len(seqs) + 1))  # none missing, none twice
    logs = [e for e in shop.get_log("browser") if e["level"] == "SEVERE"]
    assert not logs, logs
