"""Handoff: queue, one-winner claim, bot silent while an agent holds the chat, release, refunds."""

from __future__ import annotations

import threading

import httpx

from bot.tokens import mint
from tests.gateway.conftest import Rig, auth


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
    assert rig.post(f"/api/agent/conversations/{cid}/messages", a2, json={"text": "插话"}).status_code == 409
    assert rig.post(f"/api/agent/conversations/{cid}/release", a2).status_code == 409
    assert ("agent", "您好，我来帮您处理") in _texts(rig, cid)
    detail = rig.get(f"/api/agent/conversations/{cid}", a1).json()
    assert detail["holder"] == "agent:a1" and detail["order"]["order_id"] == "O1001"
    assert [h["status"] for h in detail["handoffs"]] == ["claimed"]

    released = rig.post(f"/api/agent/conversations/{cid}/release", a1)
    assert released.status_code == 200 and released.json()["holder"] == "bot"
    resp = rig.post(f"/api/conversations/{cid}/messages", s1, json={"text": "我接着说"})
    assert [m["sender"] for m in resp.json()["messages"]] == ["shopper", "bot"]
    assert rig.rasa.events(cid)[-1]["text"] == "我接着说"
    assert rig.post(f"/api/agent/conversations/{cid}/messages", a1, json={"text": "还在"}).status_code == 409


def test_bot_escalation_through_internal_endpoint(rig: Rig) -> None:
    cid = rig.open()
    resp = rig.post(f"/api/conversations/{cid}/messages", rig.shopper("s1"), json={"text": "我要投诉"})
    assert resp.json()["messages"][-1]["text"] == "已为您转接人工客服（201）"
    queue = rig.get("/api/agent/queue", rig.agent("a1")).json()
    assert [(q["conversation_id"], q["reason"]) for q in queue] == [(cid, "complaint")]
    body = {"conversation_id": cid, "reason": "asked"}
    assert rig.post("/internal/handoff", {}, json=body).status_code == 401
    assert rig.post("/internal/handoff", rig.shopper("s1"), json=body).status_code == 401
    assert rig.post("/internal/handoff", rig.agent("a1"), json=body).status_code == 401
    service = auth(mint("service", "actions"))
    assert rig.post("/internal/handoff", service, json={**body, "reason": "bored"}).status_code == 422
    assert rig.post("/internal/handoff", service, json={**body, "conversation_id": "c_x"}).status_code == 404
    again = rig.post("/internal/handoff", service, json=body)
    assert again.status_code == 201 and again.json()["holder"] == "queue"
    assert len(rig.get("/api/agent/queue", rig.agent("a1")).json()) == 1  # idempotent


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
        assert rig.redis.get(f"gw:holder:{cid}") == f"agent:{winners[0]}"


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
    service = auth(mint("service", "actions"))
    rig.post(
        "/internal/handoff",
        service,
        json={"conversation_id": cid, "reason": "risk", "refund_id": refund["refund_id"]},
    )
    a1 = rig.agent("a1")
    detail = rig.get(f"/api/agent/conversations/{cid}", a1).json()
    assert [r["refund_id"] for r in detail["refunds"]] == [refund["refund_id"]]
    assert "risk_reasons" in detail["refunds"][0]
    assert rig.post(f"/api/agent/refunds/{refund['refund_id']}/approve", rig.shopper("s2"), json={}).status_code == 401
    done = rig.post(f"/api/agent/refunds/{refund['refund_id']}/approve", a1, json={"reason": "照片清楚"})
    assert done.status_code == 200, done.text
    assert done.json()["refund"]["state"] == "settled"
    msgs = rig.get(f"/api/conversations/{cid}/messages", rig.shopper("s2")).json()["messages"]
    assert msgs[-1]["sender"] == "agent" and "¥79.00" in msgs[-1]["text"]
    again = rig.post(f"/api/agent/refunds/{refund['refund_id']}/reject", a1, json={"reason": "晚了"})
    assert again.status_code == 409
    assert rig.post("/api/agent/refunds/R_nope/approve", a1, json={}).status_code == 404

    cid2 = rig.open("s1", "O1001")
    other = _refund(rig, "s1", "O1001", "O1001-3", cid2, "k-reject")
    assert other["state"] == "needs_review"
    rejected = rig.post(f"/api/agent/refunds/{other['refund_id']}/reject", a1, json={"reason": "照片看不清"})
    assert rejected.status_code == 200 and rejected.json()["refund"]["state"] == "rejected"
    msgs = rig.get(f"/api/conversations/{cid2}/messages", rig.shopper("s1")).json()["messages"]
    assert msgs[-1]["sender"] == "agent" and "照片看不清" in msgs[-1]["text"]
