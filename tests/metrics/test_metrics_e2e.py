"""After a real conversation through the whole stack, each service's /metrics shows what happened, every series the
Grafana dashboard queries is exported, and nobody without an ops, supervisor or service token reads the gateway's."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select

from bot.db import make_engine
from bot.transcript.models import Message
from tests.e2e.shopper import GatewayShopper
from tests.e2e.stack import Stack
from tests.metrics.scrape import Scrape, queried_series, scrape

pytestmark = [pytest.mark.e2e, pytest.mark.needs_model]

SERVICES = ("gateway", "refunds", "actions")
MESSAGES_ROUTE = "/api/conversations/{cid}/messages"
GIBBERISH = "zqxj vbnm kkpt"


def scrapes(stack: Stack) -> dict[str, Scrape]:
    token = stack.service_token()
    return {name: scrape(stack.url(name), token) for name in SERVICES}


def fallbacks_in(stack: Stack, conversation: str) -> int:
    """How many of the shopper's texts in the conversation the model did not understand, as the transcript keeps it."""
    engine = make_engine(stack.database_url)
    try:
        with engine.connect() as conn:
            parses = conn.execute(select(Message.nlu).where(Message.conversation_id == conversation)).scalars()
            return sum(1 for nlu in parses if nlu and nlu.get("intent") == "nlu_fallback")
    finally:
        engine.dispose()


def decide_and_give_a_coupon(stack: Stack) -> None:
    """What the conversation leaves out, through the refund service's API as the gateway and the actions call it:
    an agent's decision on a refund under review (rejected: the line gets its quantity back) and a coupon."""
    api = httpx.Client(base_url=stack.url("refunds"), timeout=30,
                       headers={"Authorization": f"Bearer {stack.service_token()}"})
    with api:
        line = {"shopper_id": "s2", "order_id": "O2001", "line_id": "O2001-1", "quantity": 1, "conversation_id": "m1"}
        review = api.post("/refunds", json={**line, "case_type": "damaged", "photo_ids": []},
                          headers={"Idempotency-Key": uuid.uuid4().hex})
        assert review.status_code == 201 and review.json()["state"] == "needs_review", review.text
        decision = {"decided_by": "a1", "reason": "测试"}
        rejected = api.post(f"/refunds/{review.json()['refund_id']}/reject", json=decision)
        assert rejected.status_code == 200, rejected.text
        coupon = api.post("/coupons", json=line, headers={"Idempotency-Key": uuid.uuid4().hex})
        assert coupon.status_code == 201, coupon.text


def test_a_refund_conversation_moves_every_services_counters(stack: Stack) -> None:
    before = scrapes(stack)
    shopper = GatewayShopper(stack, "s1")
    shopper.open("O1001")
    shopper.say("有一支笔坏了")
    shopper.play("<photos>")
    shopper.play("<pick:退款>")
    refused = httpx.post(f"{stack.url('gateway')}/api/conversations/{shopper.conversation}/photos",
                         headers=shopper._headers(), data={"kind": "items"},
                         files={"file": ("x.jpg", b"this is not a picture", "image/jpeg")}, timeout=30)
    assert 400 <= refused.status_code < 500
    shopper.say(GIBBERISH)
    shopper.say("转人工")
    decide_and_give_a_coupon(stack)
    # Rasa asking for an action the server does not have (a domain ahead of the action server): an action error
    unknown = httpx.post(f"{stack.url('actions')}/webhook", json={"next_action": "action_from_a_newer_domain"})
    assert unknown.status_code == 404
    after = scrapes(stack)

    def moved(service: str, name: str, **labels: str) -> float:
        return after[service].value(name, **labels) - before[service].value(name, **labels)

    gw = "gateway"
    assert moved(gw, "aftersales_turns_total", event="start") >= 1
    assert moved(gw, "aftersales_turns_total", event="text") >= 2  # 转人工 is sent as the `human` event
    assert moved(gw, "aftersales_turns_total", event="photo") >= 3
    assert moved(gw, "aftersales_turns_total", event="button") >= 1
    assert moved(gw, "aftersales_turns_total", event="human") >= 1
    assert moved(gw, "aftersales_bot_answer_seconds_count", event="text", outcome="answered") >= 2
    assert moved(gw, "aftersales_http_request_duration_seconds_count", route=MESSAGES_ROUTE, method="POST",
                 status="2xx") >= 4
    assert moved(gw, "aftersales_handoffs_total", reason="asked") >= 1
    assert moved(gw, "aftersales_photo_rejections_total", code=refused.json()["code"]) >= 1
    missed = fallbacks_in(stack, shopper.conversation)
    assert missed >= 1, f"the model understood {GIBBERISH!r}: pick another gibberish"
    assert moved(gw, "aftersales_fallbacks_total", kind="nlu_fallback") >= missed
    assert not [labels for labels in after[gw].labels("aftersales_http_request_duration_seconds_count")
                if shopper.conversation in labels["route"]]

    refunds = httpx.get(f"{stack.url('refunds')}/refunds", params={"shopper_id": "s1"},
                        headers={"Authorization": f"Bearer {stack.service_token()}"}).json()
    mine = [r for r in refunds if r["conversation_id"] == shopper.conversation]
    assert len(mine) == 1 and mine[0]["case_type"] == "damaged"
    state = mine[0]["state"]  # settled at once, unless s1's refunds in other tests raised the risk
    assert moved("refunds", "aftersales_refunds_created_total", case_type="damaged", state=state) >= 1
    if state == "settled":
        assert moved("refunds", "aftersales_refunded_cents_total", case_type="damaged") >= mine[0]["amount_cents"]
    assert moved("refunds", "aftersales_http_request_duration_seconds_count", route="/refunds", method="POST") >= 1

    assert moved("actions", "aftersales_action_duration_seconds_count", action="action_create_refund") >= 1
    assert moved("actions", "aftersales_action_duration_seconds_count", action="action_fallback") >= 1
    assert moved("actions", "aftersales_action_errors_total", action="<unknown>", kind="not_found") == 1
    assert moved("refunds", "aftersales_refund_decisions_total", decision="rejected") == 1
    assert moved("refunds", "aftersales_coupons_issued_total") == 1

    exported = {name: set() for name in set().union(*(s.names for s in after.values()))}
    for service in after.values():
        for (name, labels) in service.samples:
            exported[name] |= {label for label, _ in labels}
    for name, label_names in queried_series().items():
        assert name in exported, f"the dashboard queries {name}, which no service exports"
        assert label_names <= exported[name], f"{name} has no label {label_names - exported[name]}"


def test_the_gateways_metrics_are_refused_without_a_reader_token(stack: Stack) -> None:
    url = f"{stack.url('gateway')}/metrics"
    assert httpx.get(url).status_code == 401
    for role in ("shopper", "agent", "trainer"):
        resp = httpx.get(url, headers={"Authorization": f"Bearer {stack.token(role, 'x1')}"})
        assert resp.status_code == 401, role
        assert resp.json()["code"] == "unauthorized" and resp.json()["message_zh"]
    for role in ("ops", "supervisor", "service"):
        assert httpx.get(url, headers={"Authorization": f"Bearer {stack.token(role, 'o1')}"}).status_code == 200
    for name in ("refunds", "actions"):  # the internal services: ops and service tokens only
        assert httpx.get(f"{stack.url(name)}/metrics").status_code == 401
        agent = {"Authorization": f"Bearer {stack.token('supervisor', 'o1')}"}
        assert httpx.get(f"{stack.url(name)}/metrics", headers=agent).status_code == 401
