"""The real model decides what reaches the trainers' inbox: a message it cannot place is filed there,
with its real top intents; a message it understands is not."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.needs_model]


def token(stack: Stack, role: str, subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.token(role, subject)}"}


def test_a_message_the_model_cannot_place_reaches_the_inbox(stack: Stack) -> None:
    gateway = stack.url("gateway")
    shopper, trainer = token(stack, "shopper", "s2"), token(stack, "trainer", "t1")
    with httpx.Client(base_url=gateway, timeout=120) as http:
        cid = http.post("/api/conversations", headers=shopper, json={"order_id": "O2001"}).json()["conversation_id"]
        for text in ("有一支笔坏了", "阿巴阿巴阿巴 zzz"):
            resp = http.post(f"/api/conversations/{cid}/messages", headers=shopper, json={"text": text})
            assert resp.status_code == 200, resp.text
        items = http.get("/api/trainer/inbox", headers=trainer, params={"status": "all", "days": 0}).json()["items"]

    mine = {i["text"]: i for i in items if any(c["conversation_id"] == cid for c in i["contexts"])}
    assert "有一支笔坏了" not in mine  # understood with high confidence: no work for a trainer
    filed = mine["阿巴阿巴阿巴 zzz"]
    assert set(filed["reasons"]) <= {"fallback", "low_confidence"} and filed["hits"] >= 1
    ranking = filed["model"]["ranking"]
    assert ranking and all(r["name"] != "nlu_fallback" and 0 <= r["confidence"] <= 1 for r in ranking)
    assert [m["text"] for m in filed["contexts"][0]["messages"] if m["this"]] == ["阿巴阿巴阿巴 zzz"]
