"""Shopper API: conversations, text and buttons through the trusted channel, ownership, limits."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from bot.db import make_engine
from bot.transcript.models import Message
from tests.gateway.conftest import Rig


def _count_messages(rig: Rig) -> int:
    eng = make_engine(rig.db_url)
    with eng.connect() as conn:
        n = conn.execute(select(func.count()).select_from(Message)).scalar_one()
    eng.dispose()
    return int(n)


def test_open_and_chat_round_trip(rig: Rig) -> None:
    resp = rig.post("/api/conversations", rig.shopper("s1"), json={"order_id": "O1001"})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    cid = body["conversation_id"]
    assert [m["seq"] for m in body["messages"]] == [1]
    assert body["messages"][0]["sender"] == "bot"
    assert body["messages"][0]["buttons"][0]["payload"] == "/report_damaged"
    start = rig.rasa.events(cid)[0]
    assert start == {"shopper_id": "s1", "conversation_id": cid, "event": "start", "order_id": "O1001"}

    timings = []
    for _ in range(5):
        t0 = time.perf_counter()
        resp = rig.post(f"/api/conversations/{cid}/messages", rig.shopper("s1"), json={"text": "有一支笔坏了"})
        timings.append((time.perf_counter() - t0) * 1000)
        assert resp.status_code == 200, resp.text
    print(f"\nmessage round trip through the gateway (ms): median {sorted(timings)[2]:.1f}, " f"max {max(timings):.1f}")
    msgs = resp.json()["messages"]
    assert [(m["sender"], m["text"]) for m in msgs] == [
        ("shopper", "有一支笔坏了"),
        ("bot", "收到：有一支笔坏了"),
    ]
    assert rig.rasa.events(cid)[-1] == {
        "shopper_id": "s1",
        "conversation_id": cid,
        "event": "text",
        "text": "有一支笔坏了",
    }

    transcript = rig.get(f"/api/conversations/{cid}/messages", rig.shopper("s1")).json()["messages"]
    assert [m["seq"] for m in transcript] == list(range(1, 12))
    after = rig.get(f"/api/conversations/{cid}/messages?after=9", rig.shopper("s1")).json()["messages"]
    assert [m["seq"] for m in after] == [10, 11]
    listed = rig.get("/api/conversations", rig.shopper("s1")).json()
    assert [c["conversation_id"] for c in listed] == [cid]


def test_typed_slash_text_stays_text(rig: Rig) -> None:
    cid = rig.open()
    resp = rig.post(f"/api/conversations/{cid}/messages", rig.shopper("s1"), json={"text": "/choose_refund"})
    assert resp.status_code == 200
    assert rig.rasa.events(cid)[-1]["event"] == "text"


def test_orders_are_checked_with_the_refund_service(rig: Rig) -> None:
    s1 = rig.shopper("s1")
    assert rig.post("/api/conversations", s1, json={"order_id": "O2001"}).status_code == 403
    assert rig.post("/api/conversations", s1, json={"order_id": "O9999"}).status_code == 404
    assert rig.get("/api/orders/O2001", s1).status_code == 403
    own = rig.get("/api/orders/O1001", s1)
    assert own.status_code == 200 and own.json()["lines"][0]["name"].startswith("晨光中性笔")
    listed = rig.get("/api/orders", s1).json()
    assert sorted(o["order_id"] for o in listed) == ["O1001", "O1002", "O1003"]
    body = rig.post("/api/conversations", s1, json={"order_id": "O2001"}).json()
    assert body["code"] == "forbidden" and body["message_zh"] and body["message_en"]


def test_an_order_id_in_another_case_opens_the_shoppers_order_under_the_feeds_id(rig: Rig) -> None:
    resp = rig.post("/api/conversations", rig.shopper("s1"), json={"order_id": "o1001"})
    assert resp.status_code == 201, resp.text
    cid = resp.json()["conversation_id"]
    assert resp.json()["order_id"] == "O1001"
    assert rig.rasa.events(cid)[0]["order_id"] == "O1001"
    assert rig.post("/api/conversations", rig.shopper("s2"), json={"order_id": "o1001"}).status_code == 404


def test_another_shoppers_conversation_is_403(rig: Rig) -> None:
    cid = rig.open("s1")
    s2 = rig.shopper("s2")
    before = _count_messages(rig)
    assert rig.get(f"/api/conversations/{cid}/messages", s2).status_code == 403
    assert rig.post(f"/api/conversations/{cid}/messages", s2, json={"text": "你好"}).status_code == 403
    assert rig.post(f"/api/conversations/{cid}/handoff", s2).status_code == 403
    photo = rig.post(
        f"/api/conversations/{cid}/photos",
        s2,
        data={"kind": "items"},
        files={"file": ("a.jpg", b"x", "image/jpeg")},
    )
    assert photo.status_code == 403
    assert rig.get(f"/api/conversations/{cid}/stream", s2).status_code == 403
    assert _count_messages(rig) == before
    assert rig.get(f"/api/conversations/{cid}/messages", {}).status_code == 401
    assert rig.get(f"/api/conversations/{cid}/messages", rig.agent("a1")).status_code == 401
    assert rig.get(f"/api/conversations/{cid}/messages", {"Authorization": "Bearer junk"}).status_code == 401
    assert rig.get("/api/conversations/c_nope/messages", s2).status_code == 404


def test_message_length_limit(rig: Rig) -> None:
    cid = rig.open()
    s1 = rig.shopper("s1")
    too_long = rig.post(f"/api/conversations/{cid}/messages", s1, json={"text": "笔" * 1001})
    assert too_long.status_code == 422
    assert too_long.json()["code"] == "text_too_long" and too_long.json()["message_zh"]
    assert rig.post(f"/api/conversations/{cid}/messages", s1, json={"text": "   "}).status_code == 422
    assert rig.post(f"/api/conversations/{cid}/messages", s1, json={}).status_code == 422
    assert rig.post(f"/api/conversations/{cid}/messages", s1, json={"text": "笔" * 1000}).status_code == 200


def test_only_offered_buttons_are_accepted(rig: Rig) -> None:
    cid = rig.open()
    s1 = rig.shopper("s1")
    before = _count_messages(rig)
    forwarded = len(rig.rasa.events(cid))
    for payload in ("/choose_refund", '/report_damaged{"quantity": 99}', "/restart"):
        resp = rig.post(f"/api/conversations/{cid}/messages", s1, json={"button": payload})
        assert resp.status_code == 422, payload
        assert resp.json()["code"] == "button_not_offered"
    assert _count_messages(rig) == before
    assert len(rig.rasa.events(cid)) == forwarded

    ok = rig.post(f"/api/conversations/{cid}/messages", s1, json={"button": "/report_damaged"})
    assert ok.status_code == 200, ok.text
    shopper_msg, bot_msg = ok.json()["messages"]
    assert shopper_msg["sender"] == "shopper" and shopper_msg["text"] == "商品坏了"
    assert bot_msg["text"].startswith("请上传快递外包装")
    assert rig.rasa.events(cid)[-1]["event"] == "button"

    other = rig.open()  # a button offered in another conversation does not count here
    rig.post(f"/api/conversations/{other}/messages", s1, json={"text": "你好"})  # offers /choose_refund
    resp = rig.post(f"/api/conversations/{cid}/messages", s1, json={"button": "/choose_refund"})
    assert resp.status_code == 422


def test_bot_buttons_are_refused_while_an_agent_holds_the_chat(rig: Rig) -> None:
    cid = rig.open()
    s1 = rig.shopper("s1")
    rig.post(f"/api/conversations/{cid}/handoff", s1)
    before = _count_messages(rig)
    resp = rig.post(f"/api/conversations/{cid}/messages", s1, json={"button": "/report_damaged"})
    assert resp.status_code == 409 and resp.json()["code"] == "agent_has_conversation"
    assert "直接输入文字" in resp.json()["message_zh"]
    assert _count_messages(rig) == before


def test_rate_limit_per_shopper(strict_rig: Rig) -> None:
    rig = strict_rig
    cid = rig.open("s1")  # 1 of 5
    s1 = rig.shopper("s1")
    codes = [
        rig.post(f"/api/conversations/{cid}/messages", s1, json={"text": f"第{i}条"}).status_code for i in range(6)
    ]
    assert codes == [200, 200, 200, 200, 429, 429]
    limited = rig.post(f"/api/conversations/{cid}/messages", s1, json={"text": "再来"})
    assert limited.json()["code"] == "rate_limited" and limited.json()["message_zh"]
    assert limited.headers["retry-after"]
    assert rig.open("s2")  # another shopper is not affected


def test_transcript_survives_a_redis_flush(rig: Rig) -> None:
    cid = rig.open()
    s1 = rig.shopper("s1")
    rig.post(f"/api/conversations/{cid}/messages", s1, json={"text": "转人工"})
    rig.redis.flushdb()  # Redis loses everything, SQL keeps transcript and holder
    msgs = rig.get(f"/api/conversations/{cid}/messages", s1).json()["messages"]
    assert [m["sender"] for m in msgs] == ["bot", "shopper", "bot"]
    forwarded = len(rig.rasa.events(cid))
    resp = rig.post(f"/api/conversations/{cid}/messages", s1, json={"text": "有人吗"})
    assert [m["sender"] for m in resp.json()["messages"]] == ["shopper"]  # still waiting for an agent
    assert len(rig.rasa.events(cid)) == forwarded
    assert [q["conversation_id"] for q in rig.get("/api/agent/queue", rig.agent("a1")).json()] == [cid]
