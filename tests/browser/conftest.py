"""Headless Chromium (Debian chromium + chromium-driver) driving the pages of a real gateway rig."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

from tests.gateway.conftest import env, project, redis_client, refunds_url, rig, trainer_rig  # noqa: F401  (fixtures)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--lang=zh-CN",
)


@pytest.fixture(scope="session")
def shots() -> Path:
    """Where screenshots go; printed so a person can look at them."""
    folder = Path("/tmp") / f"gateway-browser-shots-{time.strftime('%Y%m%d-%H%M%S')}"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    return folder


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Callable[[str, int, int], webdriver.Chrome]]:
    """A factory of fresh Chromium sessions, each with its own --user-data-dir."""
    if not Path(CHROMEDRIVER).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMEDRIVER} is missing: bin/test installs chromium-driver")
        pytest.skip("chromium-driver is not installed")
    drivers: list[webdriver.Chrome] = []

    def make(name: str, width: int, height: int) -> webdriver.Chrome:
        opts = Options()
        opts.binary_location = CHROMIUM
        for flag in FLAGS:
            opts.add_argument(flag)
        opts.add_argument(f"--user-data-dir={tmp_path / f'chrome-{name}'}")
        opts.add_argument(f"--window-size={width},{height}")
        driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
        driver.set_window_size(width, height)
        drivers.append(driver)
        return driver

    yield make
    for driver in drivers:
        driver.quit()
