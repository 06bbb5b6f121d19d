"""Handoff: queue, one-winner claim, bot silent while an agent holds the chat, release, refunds."""

from __future__ import annotations

import threading

import httpx

from bot.tokens import mint
from tests.gateway.conftest import Rig, auth

# The gateway's own words (bot/gateway/messages.py), written out so that a change of wording shows here.
HANDOFF_WAITING = "正在为您转接人工客服，请稍候，客服接入后会在这里回复您。"
HANDOFF_ALREADY = "已在为您转接人工客服，请耐心等待。"
BOT_UNAVAILABLE = "抱歉，系统繁忙，请稍后再试，或发送“转人工”联系人工客服。"


def _texts(rig: Rig, cid: str) -> list[tuple[str, str]]:
    msgs = rig.get(f"/api/conversations/{cid}/messages", rig.shopper("s1")).json()["messages"]
    return [(m["sender"], m["text"]) for m in msgs]


def test_human_takes_over_and_gives_back(rig: Rig) -> None:
    cid = rig.open("s1", "O1001")
    s1, a1, a2 = rig.shopper("s1"), rig.agent("a1"), rig.agent("a2")
    resp = rig.post(f"/api/conversations/{cid}/messages", s1, json={"text": "转人工"})
    assert [m["sender"] for m in resp.json()["messages"]] == ["shopper", "bot"]
    queue = rig.get("/api/agent/queue", a1).json()
    assert len(queue) == 1
    item = queue[0]
    assert (item["conversation_id"], item["reason"], item["order_id"]) == (cid, "asked", "O1001")
    assert item["waiting_seconds"] >= 0

    forwarded = len(rig.rasa.events(cid))
    assert rig.post(f"/api/conversations/{cid}/messages", s1, json={"text": "在吗"}).status_code == 200
    assert rig.post(f"/api/agent/conversations/{cid}/claim", a1).status_code == 200
    assert rig.get("/api/agent/queue", a1).json() == []
    assert [m["conversation_id"] for m in rig.get("/api/agent/mine", a1).json()] == [cid]
    resp = rig.post(f"/api/conversations/{cid}/messages", s1, json={"text": "笔坏了一支"})
    assert [m["sender"] for m in resp.json()["messages"]] == ["shopper"]
    assert len(rig.rasa.events(cid)) == forwarded  # the bot saw nothing while queued or held

    reply = rig.post(f"/api/agent/conversations/{cid}/messages", a1, json={"text": "您好，我来帮您处理"})
    assert reply.status_code == 200
    assert rig.post(f"/api/agent/conversations/{cid}/messages", a2, json={"text": "插话"}).status_code == 403
    assert rig.post(f"/api/agent/conversations/{cid}/release", a2).status_code == 403
    assert ("agent", "您好，我来帮您处理") in _texts(rig, cid)
    detail = rig.get(f"/api/agent/conversations/{cid}", a1).json()
    assert detail["holder"] == "agent:a1" and detail["order"]["order_id"] == "O1001"
    assert [h["status"] for h in detail["handoffs"]] == ["claimed"]

    released = rig.post(f"/api/agent/conversations/{cid}/release", a1)
    assert released.status_code == 200 and released.json()["holder"] == "bot"
    resp = rig.post(f"/api/conversations/{cid}/messages", s1, json={"text": "我接着说"})
    assert [m["sender"] for m in resp.json()["messages"]] == ["shopper", "bot"]
    assert rig.rasa.events(cid)[-1]["text"] == "我接着说"
    assert rig.post(f"/api/agent/conversations/{cid}/messages", a1, json={"text": "还在"}).status_code == 403


def test_the_bot_asks_for_an_agent_in_its_answer(rig: Rig) -> None:
    cid = rig.open()
    resp = rig.post(f"/api/conversations/{cid}/messages", rig.shopper("s1"), json={"text": "我要投诉"})
    said = [(m["sender"], m["text"]) for m in resp.json()["messages"]]
    # "已记录您的投诉" is RasaDouble's canned answer; the gateway adds its own HANDOFF_WAITING after it
    assert said == [("shopper", "我要投诉"), ("bot", "已记录您的投诉"), ("bot", HANDOFF_WAITING)]
    queue = rig.get("/api/agent/queue", rig.agent("a1")).json()
    assert [(q["conversation_id"], q["reason"]) for q in queue] == [(cid, "complaint")]
    # once queued the bot is not asked again, and asking again does not queue twice
    forwarded = len(rig.rasa.events(cid))
    again = rig.post(f"/api/conversations/{cid}/handoff", rig.shopper("s1")).json()["messages"]
    assert [m["text"] for m in again] == [HANDOFF_ALREADY]
    assert len(rig.rasa.events(cid)) == forwarded
    assert len(rig.get("/api/agent/queue", rig.agent("a1")).json()) == 1
    assert rig.post("/internal/handoff", auth(mint("service", "actions")), json={}).status_code == 404  # gone


def test_typed_and_button_requests_take_the_bots_handoff_path(rig: Rig) -> None:
    for ask in ("typed", "button"):
        cid = rig.open()
        if ask == "typed":
            rig.post(f"/api/conversations/{cid}/messages", rig.shopper("s1"), json={"text": "转人工"})
        else:
            rig.post(f"/api/conversations/{cid}/handoff", rig.shopper("s1"))
        # the bot got the request as its request_human intent (so it leaves an open form) ...
        assert rig.rasa.events(cid)[-1]["event"] == "human"
        # ... and the shopper is told once, by the gateway that queued the conversation
        texts = [t for s, t in _texts(rig, cid) if s == "bot"]
        assert texts.count(HANDOFF_WAITING) == 1, texts
    assert [q["reason"] for q in rig.get("/api/agent/queue", rig.agent("a1")).json()] == ["asked", "asked"]


def test_a_shopper_reaches_a_person_while_the_bot_is_down(rig: Rig) -> None:
    cid = rig.open()
    rig.rasa.down = True
    resp = rig.post(f"/api/conversations/{cid}/messages", rig.shopper("s1"), json={"text": "笔坏了"})
    assert [m["text"] for m in resp.json()["messages"]][-1] == BOT_UNAVAILABLE
    resp = rig.post(f"/api/conversations/{cid}/messages", rig.shopper("s1"), json={"text": "转人工"})
    assert [m["text"] for m in resp.json()["messages"]] == ["转人工", HANDOFF_WAITING]
    assert [q["conversation_id"] for q in rig.get("/api/agent/queue", rig.agent("a1")).json()] == [cid]


def test_two_agents_claim_at_once_exactly_one_wins(rig: Rig) -> None:
    for _round in range(3):
        cid = rig.open()
        rig.post(f"/api/conversations/{cid}/handoff", rig.shopper("s1"))
        barrier = threading.Barrier(8)
        codes: dict[str, int] = {}

        def claim(
            agent_id: str, cid: str = cid, barrier: threading.Barrier = barrier, codes: dict[str, int] = codes
        ) -> None:
            with httpx.Client(timeout=30) as client:
                barrier.wait()
                resp = client.post(f"{rig.url}/api/agent/conversations/{cid}/claim", headers=rig.agent(agent_id))
                codes[agent_id] = resp.status_code

        pool = [threading.Thread(target=claim, args=(f"a{i}",)) for i in range(8)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        winners = [a for a, code in codes.items() if code == 200]
        assert len(winners) == 1 and sorted(codes.values()) == [200] + [409] * 7
        detail = rig.get(f"/api/agent/conversations/{cid}", rig.agent("a0")).json()
        assert detail["holder"] == f"agent:{winners[0]}"
        assert [(h["status"], h["agent_id"]) for h in detail["handoffs"]] == [("claimed", winners[0])]


def _refund(rig: Rig, shopper: str, order: str, line: str, cid: str, key: str) -> dict:
    resp = httpx.post(
        f"{rig.refunds_url}/refunds",
        headers={**auth(mint("service", "actions")), "Idempotency-Key": key},
        json={
            "shopper_id": shopper,
            "order_id": order,
            "line_id": line,
            "quantity": 1,
            "case_type": "damaged",
            "photo_ids": [],
            "conversation_id": cid,
        },
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def test_agent_approves_and_rejects_and_the_shopper_is_told(rig: Rig) -> None:
    cid = rig.open("s2", "O2001")
    refund = _refund(rig, "s2", "O2001", "O2001-2", cid, "k-approve")
    assert refund["state"] == "needs_review"  # 79 yuan is over the auto limit
    rig.post(f"/api/conversations/{cid}/handoff", rig.shopper("s2"))
    a1 = rig.agent("a1")
    detail = rig.get(f"/api/agent/conversations/{cid}", a1).json()
    assert [r["refund_id"] for r in detail["refunds"]] == [refund["refund_id"]]
    assert "risk_reasons" in detail["refunds"][0]
    assert rig.post(f"/api/agent/refunds/{refund['refund_id']}/approve", rig.shopper("s2"), json={}).status_code == 401
    # only the agent holding the refund's conversation decides it: claim first
    early = rig.post(f"/api/agent/refunds/{refund['refund_id']}/approve", a1, json={})
    assert early.status_code == 403 and early.json()["code"] == "not_holder"
    assert rig.post(f"/api/agent/conversations/{cid}/claim", a1).status_code == 200
    other_agent = rig.post(f"/api/agent/refunds/{refund['refund_id']}/approve", rig.agent("a2"), json={})
    assert other_agent.status_code == 403 and other_agent.json()["code"] == "not_holder"
    done = rig.post(f"/api/agent/refunds/{refund['refund_id']}/approve", a1, json={"reason": "照片清楚"})
    assert done.status_code == 200, done.text
    assert done.json()["refund"]["state"] == "settled"
    # the refund service's notice tells it, once, as the bot; the gateway adds no words of its own
    msgs = rig.get(f"/api/conversations/{cid}/messages", rig.shopper("s2")).json()["messages"]
    notices = [m for m in msgs if m.get("notice")]
    assert [(m["sender"], m["text"]) for m in notices] == [
        ("bot", "您的退款申请已审核通过，优衣库纯棉T恤 白色 M×1的退款¥79.00已原路退回到您的支付账户，请注意查收～")
    ]
    told = done.json()["messages"]  # the decision's answer carries it too
    assert [(m["seq"], m["text"]) for m in told] == [(m["seq"], m["text"]) for m in notices]
    assert msgs[-1]["seq"] == notices[0]["seq"]
    assert not [m for m in msgs if "已原路退回" in m["text"] and not m.get("notice")]
    again = rig.post(f"/api/agent/refunds/{refund['refund_id']}/reject", a1, json={"reason": "晚了"})
    assert again.status_code == 409
    assert rig.post("/api/agent/refunds/R_nope/approve", a1, json={}).status_code == 404

    cid2 = rig.open("s1", "O1001")
    other = _refund(rig, "s1", "O1001", "O1001-3", cid2, "k-reject")
    assert other["state"] == "needs_review"
    # the bot holds this conversation: no agent may decide its refund, a supervisor may
    assert rig.post(f"/api/agent/refunds/{other['refund_id']}/reject", a1, json={}).status_code == 403
    supervisor = auth(mint("supervisor", "boss"))
    rejected = rig.post(f"/api/agent/refunds/{other['refund_id']}/reject", supervisor, json={"reason": "照片看不清"})
    assert rejected.status_code == 200 and rejected.json()["refund"]["state"] == "rejected"
    msgs = rig.get(f"/api/conversations/{cid2}/messages", rig.shopper("s1")).json()["messages"]
    assert [(m["sender"], m["text"]) for m in msgs if m.get("notice")] == [
        ("bot", "很抱歉，您的退款申请（膳魔师保温杯 500ml×1，¥159.00）未通过审核。原因：照片看不清。"
                "如有异议可以回复「申诉」。")
    ]
    assert msgs[-1].get("notice")
