"""The gateway under a burst (real uvicorn gateway, real refund service, SQLite): the excess beyond what it works on
at once gets a quick 503 with Retry-After in Chinese, the others are served and nothing they were told is lost; SQL
that stays busy is a 503 too, never a 500."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from bot.gateway.config import GatewayConfig
from bot.migrate import upgrade_to_head
from tests.gateway.conftest import Rig, start_rig


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite only: a test holds its write lock to keep requests in flight."""
    url = f"sqlite:///{tmp_path / 'test.sqlite3'}"
    upgrade_to_head(url)
    return url


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three requests in flight, three more may wait half a second; SQL gives up after 3 s."""
    for name, value in {"BOT_MAX_IN_FLIGHT": "3", "BOT_MAX_QUEUED": "3", "BOT_QUEUE_WAIT": "0.5",
                        "BOT_RETRY_AFTER": "2", "BOT_SQLITE_BUSY_SECONDS": "3"}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def small_rig(limits: None, env: dict[str, str], redis_client: redis.Redis, refunds_url: str,
              db_url: str) -> Iterator[Rig]:
    yield from start_rig(env, redis_client, refunds_url, db_url, GatewayConfig(rate_count=1000))


@pytest.fixture
def write_lock(db_url: str) -> Iterator[sqlite3.Connection]:
    """Another process's writer holding SQLite's write lock until the test commits."""
    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
    yield conn
    conn.close()


def test_a_burst_beyond_the_bound_is_refused_at_once_in_chinese(small_rig: Rig, write_lock: sqlite3.Connection) -> None:
    """Ten shoppers open a conversation at once while SQL is held: three are worked on, three wait their half second
    and the rest are refused on arrival; all seven refusals come before any of the three is served (quickly, not
    after a timeout), as 503 `overloaded` with Retry-After and the Chinese message. Once SQL is free the three are
    greeted, and a refused shopper has no conversation: the refusal did nothing."""
    write_lock.execute("BEGIN IMMEDIATE")
    answers: dict[str, httpx.Response] = {}
    barrier = threading.Barrier(10)

    def open_one(shopper: str) -> None:
        with httpx.Client(timeout=30) as client:
            barrier.wait()
            answers[shopper] = client.post(f"{small_rig.url}/api/conversations", headers=small_rig.shopper(shopper),
                                           json={"order_id": None})

    threads = [threading.Thread(target=open_one, args=(f"burst{i}",)) for i in range(10)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 2.5  # well before SQL would give up (3 s)
    while len(answers) < 7 and time.monotonic() < deadline:
        time.sleep(0.05)
    refused = dict(answers)
    assert len(refused) == 7
    for resp in refused.values():
        assert resp.status_code == 503
        body = resp.json()
        assert body["code"] == "overloaded"
        assert body["message_zh"] == "当前咨询的人较多，请稍等几秒后再试"
        assert body["message_en"]
        assert resp.headers["retry-after"] == "2"
        assert resp.headers["x-content-type-options"] == "nosniff"  # inside the security headers
    write_lock.execute("COMMIT")
    for thread in threads:
        thread.join()
    served = {shopper for shopper in answers if shopper not in refused}
    assert len(served) == 3
    for shopper in served:
        assert answers[shopper].status_code == 201
        cid = answers[shopper].json()["conversation_id"]
        messages = small_rig.get(f"/api/conversations/{cid}/messages", small_rig.shopper(shopper)).json()["messages"]
        assert messages[0]["text"] == "您好，我是售后小助手，请问遇到什么问题了？"
        assert small_rig.rasa.events(cid)[0]["event"] == "start"
    for shopper in refused:
        assert small_rig.get("/api/conversations", small_rig.shopper(shopper)).json() == []
    assert len(small_rig.rasa.received) == 3


def test_sql_that_stays_busy_is_a_503_in_chinese_not_a_500(small_rig: Rig, write_lock: sqlite3.Connection) -> None:
    """A message while another process holds SQLite's write lock past BOT_SQLITE_BUSY_SECONDS: 503 database_busy with
    Retry-After, nothing half-done; once the lock is free the same message goes through."""
    cid = small_rig.open("s1")
    write_lock.execute("BEGIN IMMEDIATE")
    resp = small_rig.post(f"/api/conversations/{cid}/messages", small_rig.shopper("s1"), json={"text": "在吗"})
    assert resp.status_code == 503
    assert resp.json()["code"] == "database_busy"
    assert resp.json()["message_zh"] == "系统繁忙，请稍等几秒后再试"
    assert resp.headers["retry-after"]
    write_lock.execute("COMMIT")
    texts = [m["text"] for m in small_rig.get(f"/api/conversations/{cid}/messages", small_rig.shopper("s1"))
             .json()["messages"]]
    assert "在吗" not in texts
    resp = small_rig.post(f"/api/conversations/{cid}/messages", small_rig.shopper("s1"), json={"text": "在吗"})
    assert resp.status_code == 200
    assert [e.get("text") for e in small_rig.rasa.events(cid)][-1] == "在吗"
