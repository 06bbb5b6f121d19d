"""The shopper web chat against the real stack: the pen refund clicked through in headless Chromium."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from bot.rasa_protocol import PHOTO_KINDS
from tests.browser.conftest import browser, shots  # noqa: F401  (fixtures)
from tests.browser.test_pages import _click, _has_text, _wait
from tests.e2e.conftest import photo_bytes
from tests.e2e.shopper import reset_ledger
from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.needs_model, pytest.mark.browser]


def test_pen_refund_in_the_web_chat(
    stack: Stack, browser: Callable[[str, int, int], webdriver.Chrome], shots: Path, tmp_path: Path  # noqa: F811
) -> None:
    # s1 as seeded: refunds made by earlier e2e tests would make this one a serial refunder (held for review)
    reset_ledger(stack)
    shop = browser("shopper-e2e", 390, 844)
    shop.get(stack.url("gateway") + "/")
    _click(shop, "[data-shopper=s1]")
    _click(shop, "[data-order=O1001] button")
    _wait(shop, _has_text(".msg.bot", "售后小助手"), timeout=60)

    shop.find_element(By.ID, "text-input").send_keys("有一支笔坏了", Keys.ENTER)
    _wait(shop, _has_text(".msg.bot", "快递外包装"), timeout=60)
    shop.save_screenshot(str(shots / "e2e-01-asks-for-photos.png"))

    expected_next = {"package": "快递面单", "label": "收到的所有商品照片", "items": "退款"}
    for n, kind in enumerate(PHOTO_KINDS, start=1):
        path = tmp_path / f"{kind}.jpg"
        path.write_bytes(photo_bytes(9000 + n))
        shop.find_element(By.ID, "file-input").send_keys(str(path))
        _click(shop, f"[data-kind={kind}]")
        _wait(shop, lambda d, n=n: len(d.find_elements(By.CSS_SELECTOR, ".msg.shopper img.thumb")) == n)
        _wait(shop, _has_text(".msg.bot", expected_next[kind]), timeout=60)
    shop.save_screenshot(str(shots / "e2e-02-offer.png"))

    _click(shop, ".msg.bot [data-payload='/choose_refund']")
    _wait(shop, _has_text(".msg.bot", "已为您提交"), timeout=60)
    _wait(shop, _has_text(".msg.bot.notice", "退款成功"), timeout=60)  # the refund service's notice
    shop.save_screenshot(str(shots / "e2e-03-refunded.png"))
    assert not [e for e in shop.get_log("browser") if e["level"] == "SEVERE"]
