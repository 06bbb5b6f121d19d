"""A Redis that accepts connections and never answers (wedged, stopped, a dead host behind a proxy) must not hang the
gateway: staff requests are refused quickly (503, the deny-list fails closed), shoppers still get the bot's answer.
The gateway talks to a real TCP server that stays silent; everything else is the real rig."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import redis

from bot.gateway.config import GatewayConfig
from bot.settings import get_settings
from tests.faults.test_hung_process import SilentServer
from tests.gateway.conftest import Rig, start_rig
from tests.gateway.sse import frames


@pytest.fixture
def wedged_rig(
    env: dict[str, str], redis_client: redis.Redis, refunds_url: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Rig]:
    """The rig, except that the gateway's Redis accepts connections and never says a word."""
    with SilentServer() as silent:
        monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{silent.port}/0")
        get_settings.cache_clear()
        yield from start_rig(env, redis_client, refunds_url, db_url, GatewayConfig(rate_count=1000))


def test_a_silent_redis_gets_staff_a_quick_503_and_shoppers_an_answer(wedged_rig: Rig) -> None:
    rig = wedged_rig
    client = httpx.Client(timeout=30)  # a hang shows as a failure, not as a stuck run

    started = time.monotonic()
    resp = client.get(rig.url + "/api/agent/queue", headers=rig.agent("a1"))
    staff_s = time.monotonic() - started
    assert resp.status_code == 503, resp.text
    assert resp.json()["code"] == "auth_unavailable"
    assert resp.json()["message_zh"] == "登录校验暂时不可用，请稍后再试"

    started = time.monotonic()
    opened = client.post(rig.url + "/api/conversations", headers=rig.shopper("s1"), json={"order_id": None})
    assert opened.status_code == 201, opened.text
    cid = opened.json()["conversation_id"]
    said = client.post(f"{rig.url}/api/conversations/{cid}/messages", headers=rig.shopper("s1"),
                       json={"text": "有一支笔坏了"})
    shopper_s = time.monotonic() - started
    assert said.status_code == 200, said.text
    assert [m["text"] for m in said.json()["messages"] if m["sender"] == "bot"] == ["收到：有一支笔坏了"]
    print(f"\nsilent Redis: staff refused in {staff_s:.2f} s; a shopper opened a chat and had an answer in "
          f"{shopper_s:.2f} s")
    assert staff_s < 8, staff_s  # 2 s socket timeout by default; generous
    assert shopper_s < 25, shopper_s  # a few 2 s timeouts: the rate limit and the live publishes fail open
    client.close()


@pytest.fixture
def short_timeout_rig(
    env: dict[str, str], redis_client: redis.Redis, refunds_url: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Rig]:
    """A real Redis, with a socket timeout shorter than the live streams' quiet wait."""
    monkeypatch.setenv("BOT_REDIS_TIMEOUT", "0.5")
    yield from start_rig(env, redis_client, refunds_url, db_url, GatewayConfig(rate_count=1000, stream_ping_seconds=3))


def test_a_quiet_live_stream_outlives_the_socket_timeout(short_timeout_rig: Rig) -> None:
    """A stream waits for the next message longer than a command may take: that wait is not cut short."""
    rig = short_timeout_rig
    cid = rig.open()
    got: list[str] = []

    def read() -> None:
        with (
            httpx.Client(timeout=20) as client,
            client.stream("GET", f"{rig.url}/api/conversations/{cid}/stream", headers=rig.shopper("s1")) as resp,
        ):
            for _id, _event, msg in frames(resp):
                got.append(msg["text"])
                if msg["sender"] == "bot" and msg["text"].startswith("收到"):
                    return

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(2)  # quiet for four socket timeouts, under the 3 s ping
    assert rig.post(f"/api/conversations/{cid}/messages", rig.shopper("s1"), json={"text": "还在吗"}).status_code == 200
    reader.join(timeout=15)
    assert not reader.is_alive()
    assert got[-2:] == ["还在吗", "收到：还在吗"], got
