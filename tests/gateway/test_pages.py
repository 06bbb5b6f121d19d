"""The pages are served by the gateway; demo tokens exist only in demo mode."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import redis

from bot.gateway.config import GatewayConfig
from tests.gateway.conftest import Rig, start_rig


def test_pages_and_static_files(rig: Rig) -> None:
    page = httpx.get(rig.url + "/")
    assert page.status_code == 200 and "售后小助手" in page.text and "/static/chat.js" in page.text
    console = httpx.get(rig.url + "/agent")
    assert console.status_code == 200 and "/static/agent.js" in console.text
    for name in ("chat.js", "agent.js", "api.js", "strings.js", "style.css"):
        assert httpx.get(f"{rig.url}/static/{name}").status_code == 200, name
    assert httpx.get(rig.url + "/api/config").json()["demo"] is True


def test_demo_tokens_in_demo_mode(rig: Rig) -> None:
    token = httpx.post(rig.url + "/api/demo/token", json={"role": "shopper", "subject": "s3"}).json()["token"]
    mine = httpx.get(rig.url + "/api/orders", headers={"Authorization": f"Bearer {token}"}).json()
    assert {o["shopper_id"] for o in mine} == {"s3"}
    assert httpx.post(rig.url + "/api/demo/token", json={"role": "service", "subject": "x"}).status_code == 422


@pytest.fixture
def plain_rig(env: dict[str, str], redis_client: redis.Redis, refunds_url: str, db_url: str) -> Iterator[Rig]:
    yield from start_rig(env, redis_client, refunds_url, db_url, GatewayConfig(demo=False))


def test_no_demo_tokens_without_demo_mode(plain_rig: Rig) -> None:
    resp = httpx.post(plain_rig.url + "/api/demo/token", json={"role": "agent", "subject": "a1"})
    assert resp.status_code in (404, 405)
    assert httpx.get(plain_rig.url + "/api/config").json()["demo"] is False
