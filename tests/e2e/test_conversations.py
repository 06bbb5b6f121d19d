"""Conversations through the public gateway API against the real stack: the dialogue follows the shopper.

Each test is one thing a shopper noticed going wrong before (issue 8), played as they would play it. The last
test plays the blind conversation scripts (tests/conversations/blind.yml, written by someone who had not read
the training data or the stories) and prints how many reached the outcome the shopper meant.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text as sql

from bot.db import make_engine
from bot.settings import ROOT
from tests.e2e.shopper import GatewayShopper, load_scripts, run_script
from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.needs_model]

BLIND = ROOT / "tests" / "conversations" / "blind.yml"
# The bar for the blind scripts: nine in ten reach what the shopper meant.
BLIND_TARGET = 0.90
# What the bot says when a second answer to the same question does not match either, and the button it adds
# (actions/messages.py STILL_NOT_MATCHED, HUMAN_BUTTON): written out, not imported, so a change of wording shows here.
STILL_NOT_MATCHED = "抱歉，还是没能对上您说的信息。您可以直接点下面的选项，或者转人工客服帮您处理～"
HUMAN_BUTTON = {"title": "转人工客服", "payload": "/request_human"}


def refunds_of(stack: Stack, conversation: str) -> list[dict[str, object]]:
    engine = make_engine(stack.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sql("SELECT line_id, quantity, amount_cents, state FROM refunds "
                                    "WHERE conversation_id = :c ORDER BY line_id"), {"c": conversation})
            return [dict(r._mapping) for r in rows]
    finally:
        engine.dispose()


def test_item_named_before_the_order_is_not_asked_again(stack: Stack) -> None:
    chat = GatewayShopper(stack, "s1")
    chat.open()
    asked = chat.say("有一支笔坏了")
    assert any(b["title"].startswith("O1001") for m in asked for b in m.get("buttons") or [])
    chat.play("<pick:O1001>")
    after_pick = "\n".join(chat.bot_texts()[-2:])
    assert "哪件商品" not in after_pick
    assert "快递外包装" in after_pick  # straight on to the photos for the pen


def test_a_photo_sent_early_is_acknowledged_and_kept(stack: Stack) -> None:
    chat = GatewayShopper(stack, "s1")
    chat.open("O1001")
    chat.say("保温杯坏了")
    reply = "\n".join(m["text"] or "" for m in chat.photo("items"))
    assert "商品照片收到了" in reply and "存着" in reply
    chat.photo("package")
    chat.photo("label")
    # the items photo sent first was kept: the offer comes without asking for it again
    assert any(b["payload"] == "/choose_refund" for b in chat.offered())


def test_a_vague_problem_gets_the_case_type_buttons(stack: Stack) -> None:
    chat = GatewayShopper(stack, "s1")
    chat.open("O1002")
    chat.say("买的东西有问题")
    assert [b["payload"] for b in chat.offered()][:2] == ["/report_damaged", "/report_missing_item"]


def test_a_parcel_that_never_came_is_refunded_for_the_whole_order(stack: Stack) -> None:
    chat = GatewayShopper(stack, "s2")
    chat.open("O2002")
    offer = chat.say("快递一直没到 我要退款")
    text = "\n".join(m["text"] or "" for m in offer)
    assert "哪件商品" not in text and "整单" in text
    assert "¥86.40" in chat.offered()[0]["title"]  # 1 × ¥39.00 + 6 × ¥7.90, priced by the refund service
    chat.say("退款")
    made = refunds_of(stack, chat.conversation)
    assert [(r["line_id"], r["quantity"], r["amount_cents"]) for r in made] == [
        ("O2002-1", 1, 3900), ("O2002-2", 6, 4740)]


def test_a_refund_wish_mid_form_asks_one_question(stack: Stack) -> None:
    chat = GatewayShopper(stack, "s1")
    chat.open("O1002")
    chat.say("东西坏了")
    reply = chat.say("我要退款")
    questions = [m["text"] for m in reply if m["text"] and ("？" in m["text"] or "?" in m["text"])]
    assert len(questions) == 1 and "哪件商品" in questions[0]
    assert not any(b["payload"].startswith("/report_") for m in reply for b in m.get("buttons") or [])


def test_a_second_miss_on_the_same_question_offers_a_human(stack: Stack) -> None:
    chat = GatewayShopper(stack, "s1")
    chat.open()
    chat.say("东西坏了")
    first = "\n".join(m["text"] or "" for m in chat.say("订单O9999"))
    assert "没有找到这个订单" in first and STILL_NOT_MATCHED not in first
    second = chat.say("O9998")
    assert STILL_NOT_MATCHED in "\n".join(m["text"] or "" for m in second)
    offered = [b for m in second for b in m.get("buttons") or []]
    assert HUMAN_BUTTON in offered  # a human, beside the order buttons asked again
    assert any(b["title"].startswith("O1001") for b in offered)
    handed = "\n".join(m["text"] or "" for m in chat.click("/request_human"))
    assert "人工客服" in handed, handed
    queue = httpx.get(stack.url("gateway") + "/api/agent/queue", timeout=30,
                      headers={"Authorization": f"Bearer {stack.token('agent', 'tests')}"}).json()
    assert any(item["conversation_id"] == chat.conversation for item in queue)


def test_a_one_character_item_after_a_number_and_a_full_width_order_id_are_understood(stack: Stack) -> None:
    chat = GatewayShopper(stack, "s1")
    chat.open()
    # full-width order id; 笔 right after 13支; the last number is the broken ones
    chat.say("订单Ｏ１００１ 13支笔坏了3支")
    if any(b["payload"] == "/report_damaged" for b in chat.offered()):
        chat.click("/report_damaged")  # read as naming the order: the problem button keeps what was said
    assert "快递外包装" in chat.bot_texts()[-1]  # order, item and quantity all taken from what was said
    chat.play("<photos>")
    offer = chat.bot_texts()[-1]
    assert "×3" in offer and "¥10.50" in offer  # 3 pens at ¥3.50, priced by the refund service


def test_blind_conversations_reach_what_the_shopper_meant(stack: Stack) -> None:
    scripts = load_scripts(BLIND)
    assert len(scripts) >= 30
    results = [(script, *run_script(stack, script)) for script in scripts]
    missed = [(s, got, chat) for s, got, chat in results if got != s.expect]
    reached = len(results) - len(missed)
    print(f"\nblind conversations: {reached}/{len(results)} reached the outcome the shopper meant "
          f"({reached / len(results):.0%})")
    for script, got, chat in missed:
        print(f"  {script.id}: expected {script.expect}, got {got}")
        for message in chat.messages:
            print(f"      {message['sender']}: {(message.get('text') or '').replace(chr(10), ' ')[:90]}")
    assert reached / len(results) >= BLIND_TARGET
