"""Money notices: the refund service's outbox told in the shopper's chat exactly once (bot/gateway/notices.py).

Real gateway, real refund service process, real Redis and SQL (SQLite and PostgreSQL); no mocks.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy.exc import IntegrityError

from bot.gateway import notices
from bot.gateway.config import GatewayConfig
from bot.gateway.context import Gateway
from bot.gateway.store import Database
from bot.gateway.transcript import NewMessage, append_messages, create_conversation
from bot.refunds.client import RefundsError
from bot.tokens import mint
from tests.gateway.conftest import Rig, auth, start_rig
from tests.gateway.sse import frames

FAST_PEN = "极速退款成功！晨光中性笔 0.5mm 黑色×1的退款¥3.50已原路退回到您的支付账户，一般几分钟内到账，请注意查收～"


@pytest.fixture
def quiet_rig(env: dict[str, str], redis_client: redis.Redis, refunds_url: str, db_url: str) -> Iterator[Rig]:
    """A gateway that never sweeps: a notice is told only by a request, or by the test itself."""
    config = GatewayConfig(rate_count=1000, stream_ping_seconds=1.0, notice_sweep_seconds=0)
    yield from start_rig(env, redis_client, refunds_url, db_url, config)


@pytest.fixture
def sweeping_rig(env: dict[str, str], redis_client: redis.Redis, refunds_url: str, db_url: str) -> Iterator[Rig]:
    config = GatewayConfig(
        rate_count=1000, stream_ping_seconds=1.0, notice_sweep_seconds=0.3, notice_grace_seconds=0.5
    )
    yield from start_rig(env, redis_client, refunds_url, db_url, config)


def _service() -> dict[str, str]:
    return auth(mint("service", "actions"))


def _fast_refund(rig: Rig, cid: str, key: str, shopper: str = "s1", order: str = "O1001") -> dict[str, Any]:
    """What the bot's refund action does: one pen of a clean, old account, paid out at once (极速退款)."""
    resp = httpx.post(
        f"{rig.refunds_url}/refunds",
        headers={**_service(), "Idempotency-Key": key},
        json={
            "shopper_id": shopper,
            "order_id": order,
            "line_id": f"{order}-1",
            "quantity": 1,
            "case_type": "not_delivered",
            "conversation_id": cid,
        },
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["state"] == "settled"
    return dict(resp.json())


def _outbox(rig: Rig, **params: Any) -> list[dict[str, Any]]:
    resp = httpx.get(f"{rig.refunds_url}/notifications", headers=_service(), params=params)
    resp.raise_for_status()
    return list(resp.json())


def _notices(rig: Rig, cid: str, shopper: str = "s1") -> list[dict[str, Any]]:
    msgs = rig.get(f"/api/conversations/{cid}/messages", rig.shopper(shopper)).json()["messages"]
    return [m for m in msgs if m.get("notice")]


def _worker(rig: Rig) -> Gateway:
    """Another gateway worker on the same SQL, Redis and refund service (its own pools and clients)."""
    return Gateway.build(rig.settings, GatewayConfig(notice_grace_seconds=0))


def test_settled_refund_is_told_once_right_after_the_bots_reply(quiet_rig: Rig) -> None:
    rig = quiet_rig
    cid = rig.open("s1", "O1001")
    refund = _fast_refund(rig, cid, "k-fast")
    [note] = _outbox(rig, conversation_id=cid)
    assert (note["kind"], note["refund_id"], note["text"], note["delivered_at"]) == (
        "refund_settled", refund["refund_id"], FAST_PEN, None
    )

    said = rig.post(f"/api/conversations/{cid}/messages", rig.shopper("s1"), json={"text": "好的"}).json()["messages"]
    assert [(m["sender"], m["text"], bool(m.get("notice"))) for m in said] == [
        ("shopper", "好的", False),
        ("bot", "收到：好的", False),
        ("bot", FAST_PEN, True),
    ]
    assert [m["seq"] for m in said] == list(range(said[0]["seq"], said[0]["seq"] + 3))
    assert _outbox(rig, conversation_id=cid)[0]["delivered_at"] is not None

    rig.post(f"/api/conversations/{cid}/messages", rig.shopper("s1"), json={"text": "谢谢"})
    assert [m["text"] for m in _notices(rig, cid)] == [FAST_PEN]


def test_the_sweep_tells_a_notice_made_outside_any_request_live(sweeping_rig: Rig) -> None:
    rig = sweeping_rig
    cid = rig.open("s1", "O1001")
    live: list[dict[str, Any]] = []

    def follow() -> None:
        with (
            httpx.Client(timeout=httpx.Timeout(20.0)) as client,
            client.stream("GET", f"{rig.url}/api/conversations/{cid}/stream", headers=rig.shopper("s1")) as resp,
        ):
            for _id, _event, msg in frames(resp):
                live.append(msg)
                if msg.get("notice"):
                    return

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    _fast_refund(rig, cid, "k-swept")  # nobody asks the bot anything afterwards
    reader.join(timeout=20)
    assert [m["text"] for m in live if m.get("notice")] == [FAST_PEN]
    time.sleep(1.5)  # several more sweeps
    assert [m["text"] for m in _notices(rig, cid)] == [FAST_PEN]
    assert _outbox(rig, undelivered="true") == []


async def test_two_workers_delivering_at_once_tell_it_once(quiet_rig: Rig) -> None:
    rig = quiet_rig
    cid = rig.open("s1", "O1001")
    _fast_refund(rig, cid, "k-race")
    pubsub = rig.redis.pubsub()
    pubsub.subscribe(f"gw:conv:{cid}")
    workers = [_worker(rig), _worker(rig)]
    try:
        [note] = await workers[0].refunds.list_notifications(conversation_id=cid, undelivered=True)
        results = await asyncio.gather(
            *(notices.deliver_notice(w, note) for w in workers for _ in range(3)),
            *(notices.deliver_pending(w, conversation_id=cid) for w in workers),
            *(notices.deliver_pending(w, shopper_id="s1") for w in workers),
            *(notices.sweep(w) for w in workers),
        )
    finally:
        for w in workers:
            await w.close()
    assert sum(len(r) if isinstance(r, list) else r for r in results) == 1  # messages written, by all of them
    assert [m["text"] for m in _notices(rig, cid)] == [FAST_PEN]
    assert _outbox(rig, conversation_id=cid)[0]["delivered_at"] is not None
    published = []
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        got = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
        if got:
            published.append(json.loads(got["data"]))
    pubsub.close()
    assert [m["text"] for m in published if m.get("notice")] == [FAST_PEN]  # announced live once


async def test_a_worker_that_died_before_marking_does_not_tell_it_twice(quiet_rig: Rig) -> None:
    rig = quiet_rig
    cid = rig.open("s1", "O1001")
    _fast_refund(rig, cid, "k-crash")
    worker = _worker(rig)
    try:
        [note] = await worker.refunds.list_notifications(conversation_id=cid, undelivered=True)
        db = Database(rig.db_url)
        try:  # step 1 committed, then the worker died: never published, never marked delivered
            assert len(db.run_sync(notices._record, note, cid)) == 1
        finally:
            db.dispose()
        assert (await worker.refunds.list_notifications(conversation_id=cid, undelivered=True)) == [note]
        assert await notices.deliver_pending(worker, conversation_id=cid) == []  # nothing written again
    finally:
        await worker.close()
    assert [m["text"] for m in _notices(rig, cid)] == [FAST_PEN]
    assert _outbox(rig, conversation_id=cid)[0]["delivered_at"] is not None


async def test_a_notice_naming_another_shoppers_chat_is_not_told_there(quiet_rig: Rig) -> None:
    rig = quiet_rig
    cid = rig.open("s1", "O1001")
    _fast_refund(rig, cid, "k-other", shopper="s2", order="O2001")  # a caller's mistake: s2's refund, s1's chat
    worker = _worker(rig)
    try:
        assert await notices.deliver_pending(worker, conversation_id=cid) == []
    finally:
        await worker.close()
    assert _notices(rig, cid) == []
    assert _outbox(rig, undelivered="true") == []  # nowhere to tell it: not retried for ever


def test_the_transcript_holds_one_message_per_notification(db_url: str) -> None:
    db = Database(db_url)
    try:
        cid = db.run_sync(lambda s: create_conversation(s, shopper_id="s1", order_id=None).id)
        db.run_sync(append_messages, cid, [NewMessage(sender="bot", text="一", notification_id=7)])
        with pytest.raises(IntegrityError):
            db.run_sync(append_messages, cid, [NewMessage(sender="bot", text="二", notification_id=7)])
        db.run_sync(append_messages, cid, [NewMessage(sender="bot", text="三"), NewMessage(sender="bot", text="四")])
    finally:
        db.dispose()


async def test_an_unreachable_refund_service_costs_a_request_nothing(quiet_rig: Rig) -> None:
    rig = quiet_rig
    cid = rig.open("s1", "O1001")
    worker = Gateway.build(replace(rig.settings, refunds_url="http://127.0.0.1:9"), GatewayConfig())
    try:
        assert await notices.deliver_pending(worker, conversation_id=cid) == []  # logged; the sweep retries
        with pytest.raises(RefundsError):
            await notices.sweep(worker)  # the sweeper logs it once per outage and keeps going
    finally:
        await worker.close()
