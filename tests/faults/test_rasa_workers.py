"""Two Rasa workers behind the gateway: one dies mid-form and the other carries the shopper on; simultaneous
clicks sent to different workers still make one refund and keep the tracker in order.

Any worker may serve any conversation because the lock store (bot/channel/lock_store.py) issues tickets atomically
across processes; the gateway asks a conversation's own worker first and skips one that refuses the connection
(bot/rasa_protocol.py TrustedChannel).
"""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Iterator

import httpx
import pytest
import redis

from bot.rasa_protocol import SECRET_HEADER, WEBHOOK_PATH, event_body, sender_id, workers_for
from bot.settings import ROOT
from tests.e2e.stack import Stack
from tests.faults.harness import FEW_SECONDS, ledger_problems, open_chat, remedies_of, to_offer

pytestmark = [pytest.mark.e2e, pytest.mark.needs_model]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not list((ROOT / "models").glob("*.tar.gz")):
        pytest.fail("no trained model in models/: run bin/setup first (bin/test does)")
    workdir = tmp_path_factory.mktemp("workers")
    running = Stack(workdir=workdir, database_url=f"sqlite:///{workdir / 'workers.sqlite3'}", rasa_workers=2)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        print(f"\nworker-test process logs: {workdir / 'logs'}")


def own_worker(stack: Stack, conversation: str) -> str:
    urls = tuple(stack.url(name) for name in stack.rasa_names)
    first = workers_for(conversation, urls)[0]
    return next(name for name in stack.rasa_names if stack.url(name) == first)


def test_a_worker_killed_mid_form_the_other_carries_the_case_on(stack: Stack) -> None:
    chat = open_chat(stack)
    assert "快递外包装" in chat.say("有一支笔坏了").bot_text
    assert chat.photo("package").status == 201
    dead = own_worker(stack, chat.conversation)
    stack.kill(dead)
    try:
        turn = chat.photo("label")  # the form's next question, answered by the other worker
        assert turn.status == 201 and turn.seconds < FEW_SECONDS, turn
        assert "商品" in turn.bot_text and "面单" not in turn.bot_text, turn.bot_text  # asks the items photo next
        offer = chat.photo("items")
        assert [b["payload"] for b in offer.buttons] == ["/choose_refund", "/choose_coupon"], offer
        assert chat.click("/choose_refund").status == 200
        kinds = [m.get("photo_kind") or m.get("kind") for m in chat.transcript() if m["sender"] == "shopper"]
        assert len([m for m in chat.transcript() if m["sender"] == "shopper"]) == 5, kinds  # nothing lost
        assert [state for _id, state, _cents in remedies_of(stack.database_url, chat.conversation)["refunds"]] \
            == ["settled"]
    finally:
        stack.restart(dead)


def test_ten_clicks_at_once_on_both_workers_make_one_refund_and_keep_the_tracker_in_order(stack: Stack) -> None:
    chat = open_chat(stack)
    to_offer(chat)
    body = event_body("s1", chat.conversation, "button", payload="/choose_refund")
    urls = [stack.url(name) for name in stack.rasa_names]

    def click(i: int) -> int:
        resp = httpx.post(urls[i % 2] + WEBHOOK_PATH, json=body, headers={SECRET_HEADER: stack.channel_secret},
                          timeout=120)
        return resp.status_code

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(click, range(10)))
    assert all(s in (200, 422) for s in statuses), statuses  # after the first, the button is no longer offered
    made = remedies_of(stack.database_url, chat.conversation)
    assert [(state, cents) for _id, state, cents in made["refunds"]] == [("settled", 350)]
    assert made["coupons"] == [] and ledger_problems(stack.database_url) == []
    # the tracker: every turn's events follow each other (no two turns interleaved), timestamps never go back
    store = redis.Redis(port=stack.ports["redis"])
    raw = store.get(f"tracker:tracker:{sender_id('s1', chat.conversation)}")  # endpoints.yml key_prefix + Rasa's
    assert raw is not None
    events = json.loads(raw)["events"]
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps)
    users = [i for i, e in enumerate(events) if e["event"] == "user"]
    for start, end in zip(users, users[1:] + [len(events)], strict=True):
        turn = events[start:end]
        assert not any(e["event"] == "user" for e in turn[1:])
        assert turn[-1]["event"] == "action" and turn[-1]["name"] == "action_listen", [e["event"] for e in turn]
