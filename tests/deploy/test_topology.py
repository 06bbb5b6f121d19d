"""deploy/'s topology run here: two replicas of every role behind round-robin fronts (tests/deploy/topology.py).
A conversation's messages reach different gateway and Rasa processes; a killed replica is skipped by its front.
Slow (two Rasa processes load their model): few tests, one topology for the module, the replica kills last."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from bot.rasa_protocol import SECRET_HEADER, WEBHOOK_PATH
from tests.deploy.topology import Topology, wait_for
from tests.e2e.conftest import Conversation, buttons_of, text_of
from tests.e2e.shopper import GatewayShopper

pytestmark = [pytest.mark.e2e, pytest.mark.needs_model]
CLICKS = 10


def service_get(topology: Topology, path: str) -> Any:
    resp = httpx.get(topology.url("refunds") + path, timeout=30,
                     headers={"Authorization": f"Bearer {topology.service_token()}"})
    resp.raise_for_status()
    return resp.json()


def refunds_of(topology: Topology, conversation: str) -> list[dict[str, Any]]:
    return [r for r in service_get(topology, "/refunds?shopper_id=s1") if r["conversation_id"] == conversation]


def transcript(topology: Topology, chat: GatewayShopper) -> list[dict[str, Any]]:
    resp = httpx.get(f"{topology.url('gateway')}/api/conversations/{chat.conversation}/messages",
                     params={"after": 0}, headers=chat._headers(), timeout=30)
    resp.raise_for_status()
    return list(resp.json()["messages"])


def replicas_used(topology: Topology, role: str, since: int) -> set[int]:
    return {tried[-1] for tried in topology.front_log(role)[since:]}


def test_a_pen_refund_through_the_gateway_front_spans_the_replicas(topology: Topology) -> None:
    gateway_seen, rasa_seen = len(topology.front_log("gateway")), len(topology.front_log("rasa"))
    chat = GatewayShopper(topology, "s1")
    chat.open("O1001")
    asked = text_of(chat.say("有一支笔坏了"))
    assert "快递外包装" in asked and "快递面单" in asked
    for kind in ("package", "label", "items"):
        assert chat.asked_photo() == kind
        chat.photo(kind)
    offer = chat.offered()
    assert [b["payload"] for b in offer] == ["/choose_refund", "/choose_coupon"] and "3.50" in offer[0]["title"]
    assert "已为您提交¥3.50的退款申请" in text_of(chat.click("/choose_refund"))

    mine = refunds_of(topology, chat.conversation)
    assert [(r["state"], r["amount_cents"]) for r in mine] == [("settled", 350)]
    # the money notice reaches the chat exactly once, whichever gateway's sweep or answer delivered it
    assert wait_for(lambda: any("极速退款成功" in (m["text"] or "") for m in transcript(topology, chat)))
    assert sum("极速退款成功" in (m["text"] or "") for m in transcript(topology, chat)) == 1
    # round robin really spread this one conversation over both processes of each role
    assert replicas_used(topology, "gateway", gateway_seen) == set(topology.replicas["gateway"])
    assert replicas_used(topology, "rasa", rasa_seen) == set(topology.replicas["rasa"])


def test_ten_simultaneous_clicks_through_the_rasa_front_make_one_refund(topology: Topology) -> None:
    chat = Conversation(topology, "s1")
    chat.send("start", order_id="O1001")
    chat.say("有一支笔坏了")
    for seed, kind in enumerate(("package", "label", "items"), start=101):
        offer = chat.photo(kind, seed=seed)
    assert buttons_of(offer)[0]["payload"] == "/choose_refund"
    rasa_seen = len(topology.front_log("rasa"))

    barrier = threading.Barrier(CLICKS)
    statuses: list[tuple[int, str]] = []

    def click() -> None:
        body = {"shopper_id": "s1", "conversation_id": chat.conversation, "event": "button",
                "payload": "/choose_refund"}
        barrier.wait()
        resp = httpx.post(f"{topology.url('rasa')}{WEBHOOK_PATH}", json=body,
                          headers={SECRET_HEADER: topology.channel_secret}, timeout=120)
        statuses.append((resp.status_code, resp.text[:200]))

    threads = [threading.Thread(target=click) for _ in range(CLICKS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [status for status, _ in statuses] == [200] * CLICKS, statuses
    assert replicas_used(topology, "rasa", rasa_seen) == set(topology.replicas["rasa"])
    assert len(refunds_of(topology, chat.conversation)) == 1
    # one turn at a time on the tracker: every click is there, each turn ends (action_listen) before the next begins
    tracker = httpx.get(f"{topology.url('rasa')}/conversations/s1:{chat.conversation}/tracker",
                        params={"token": topology.rasa_token}, timeout=30).json()
    events = tracker["events"]
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    users = [i for i, e in enumerate(events) if e["event"] == "user"]
    clicks = [i for i in users if events[i]["text"] == "/choose_refund"]
    assert len(clicks) == CLICKS
    for start, end in zip(users, users[1:] + [len(events)], strict=True):
        turn = [e.get("name") for e in events[start + 1:end] if e["event"] == "action"]
        assert turn and turn[-1] == "action_listen", f"turn interleaved with another: {turn}"
        assert "action_listen" not in turn[:-1], f"turn interleaved with another: {turn}"


def test_refunds_continue_when_a_refund_service_replica_is_killed(topology: Topology) -> None:
    topology.kill("refunds-1")
    dead = topology.replica_port("refunds-1")
    seen = len(topology.front_log("refunds"))
    chat = GatewayShopper(topology, "s1")
    chat.open("O1001")
    chat.say("有一支笔坏了")
    chat.play("<photos>")
    assert chat.offered()[0]["payload"] == "/choose_refund"
    reply = text_of(chat.click("/choose_refund"))
    assert "退款申请" in reply or "人工" in reply, reply  # paid at once, or a third refund in minutes goes to review
    assert [r["amount_cents"] for r in refunds_of(topology, chat.conversation)] == [350]
    tried = topology.front_log("refunds")[seen:]
    assert all(attempts[-1] != dead for attempts in tried)
    assert any(attempts[0] == dead for attempts in tried), "the front never tried the dead replica"


def test_a_killed_rasa_worker_mid_form_loses_nothing(topology: Topology) -> None:
    chat = GatewayShopper(topology, "s1")
    chat.open("O1001")
    chat.say("有一支笔坏了")
    chat.photo("package")
    assert chat.asked_photo() == "label"
    topology.kill("rasa-1")
    dead = topology.replica_port("rasa-1")
    seen = len(topology.front_log("rasa"))

    chat.photo("label")
    assert chat.asked_photo() == "items"  # the form goes on from the next question, in the other process
    chat.photo("items")
    assert chat.offered()[0]["payload"] == "/choose_refund"
    tried = topology.front_log("rasa")[seen:]
    assert all(attempts[-1] != dead for attempts in tried)
    assert any(attempts[0] == dead for attempts in tried), "the front never tried the dead worker"
    # the transcript holds every message the shopper sent and every answer, in order
    def lines(messages: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
        return sorted({(m["seq"], m["sender"], m["text"] or "") for m in messages})

    assert lines(transcript(topology, chat)) == lines(chat.messages)
    assert [text for _, sender, text in lines(chat.messages) if sender == "shopper"][:1] == ["有一支笔坏了"]
    assert sum(sender == "shopper" for _, sender, _ in lines(chat.messages)) == 4  # the text and three photos
