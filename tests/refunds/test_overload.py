"""The refund service under a burst, over real HTTP on SQLite: reads never wait for the write lock, and more writers
than it works on at once get a quick 503 with Retry-After instead of a long wait (bot/overload.py, bot/db.py)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from bot.migrate import upgrade_to_head
from bot.refunds.models import Order
from tests.refunds.conftest import Server


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """SQLite only (the write lock is SQLite's); the service works on 2 requests at once and lets none wait."""
    monkeypatch.setenv("BOT_MAX_IN_FLIGHT", "2")
    monkeypatch.setenv("BOT_MAX_QUEUED", "0")
    monkeypatch.setenv("BOT_RETRY_AFTER", "3")
    url = f"sqlite:///{tmp_path / 'test.sqlite3'}"
    upgrade_to_head(url)
    return url


@pytest.fixture
def write_lock(db_url: str) -> Iterator[sqlite3.Connection]:
    """Another process's writer: SQLite's write lock is held until the test commits this connection."""
    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    yield conn
    conn.close()


def order(order_id: str) -> dict[str, object]:
    return {"order_id": order_id, "shopper_id": "s9", "shopper_name": "突发",
            "lines": [{"sku": "PEN-05", "name": "中性笔", "unit_price_cents": 350, "quantity": 2}]}


def test_reads_are_answered_while_a_writer_holds_the_lock(server: Server, write_lock: sqlite3.Connection) -> None:
    """A GET takes no write lock: it answers at once although another writer holds SQLite's lock (it used to wait
    for the busy timeout and answer 503), while a write waits for the lock and goes through once it is free."""
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=5) as client:
        for path in ("/orders/O1001", "/orders?shopper_id=s1", "/refunds?shopper_id=s3"):
            assert client.get(path).status_code == 200, path
        answers: list[httpx.Response] = []
        writer = threading.Thread(target=lambda: answers.append(client.post("/orders", json=order("B1"))))
        writer.start()
        time.sleep(0.5)
        assert not answers  # waiting for the lock
        assert client.get("/orders/O1002").status_code == 200  # still reading meanwhile
        write_lock.execute("COMMIT")
        writer.join()
        assert answers[0].status_code == 201
        assert client.get("/orders/B1").json()["order_id"] == "B1"


def test_a_burst_beyond_the_bound_gets_a_quick_503_and_the_rest_are_served(
    server: Server, write_lock: sqlite3.Connection, sessions: sessionmaker
) -> None:
    """Six writes at once while the lock is held: the two the service works on wait and then succeed; the four beyond
    its bound are refused at once with 503 overloaded and Retry-After, and leave nothing behind."""
    answers: dict[str, httpx.Response] = {}
    barrier = threading.Barrier(6)

    def send(order_id: str) -> None:
        with httpx.Client(base_url=server.url, headers=server.headers, timeout=30) as client:
            barrier.wait()
            answers[order_id] = client.post("/orders", json=order(order_id))

    threads = [threading.Thread(target=send, args=(f"B{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while len(answers) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    refused = dict(answers)  # everything answered while the lock is still held
    assert len(refused) == 4
    for resp in refused.values():
        assert resp.status_code == 503
        assert resp.json()["detail"]["code"] == "overloaded"
        assert resp.headers["retry-after"] == "3"
    write_lock.execute("COMMIT")
    for thread in threads:
        thread.join()
    served = {oid for oid, resp in answers.items() if oid not in refused}
    assert len(served) == 2 and all(answers[oid].status_code == 201 for oid in served)
    with sessions() as s:
        assert set(s.execute(select(Order.order_id).where(Order.shopper_id == "s9")).scalars()) == served
        assert s.execute(select(func.count()).select_from(Order).where(Order.order_id.in_(refused))).scalar() == 0


def test_health_is_answered_when_the_service_is_full(server: Server, write_lock: sqlite3.Connection) -> None:
    """The supervisor's health probe is not counted: a busy service is alive, not hung."""
    answers: list[int] = []

    def send(order_id: str) -> None:
        with httpx.Client(base_url=server.url, headers=server.headers, timeout=30) as client:
            answers.append(client.post("/orders", json=order(order_id)).status_code)

    threads = [threading.Thread(target=send, args=(f"H{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # both in flight, waiting for the lock
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=5) as client:
        assert client.post("/orders", json=order("H9")).status_code == 503
        assert client.get("/health").status_code == 200
    write_lock.execute("COMMIT")
    for thread in threads:
        thread.join()
    assert answers == [201, 201]
