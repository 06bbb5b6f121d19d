"""The whole 「有一支笔坏了」 conversation against the real processes, and what typed text cannot do."""

from __future__ import annotations

import time
from dataclasses import replace

import httpx
import pytest

from bot.settings import get_settings
from tests.e2e.conftest import Conversation, buttons_of, text_of
from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.needs_model]


def refunds_api(stack: Stack, path: str) -> object:
    resp = httpx.get(stack.url("refunds") + path, headers={"Authorization": f"Bearer {stack.service_token()}"})
    resp.raise_for_status()
    return resp.json()


def test_broken_pen_is_refunded_with_three_photos(stack: Stack) -> None:
    started = time.monotonic()
    chat = Conversation(stack, "s1")
    chat.send("start", order_id="O1001")

    reply = text_of(chat.say("有一支笔坏了"))
    assert "快递外包装" in reply and "快递面单" in reply and "商品照片" in reply

    assert "面单" in text_of(chat.photo("package", seed=1))
    assert "商品" in text_of(chat.photo("label", seed=2))
    offer = chat.photo("items", seed=3)
    buttons = buttons_of(offer)
    assert [b["payload"] for b in buttons] == ["/choose_refund", "/choose_coupon"]
    assert "3.50" in buttons[0]["title"]  # one pen of 12 at ¥3.50, priced by the refund service
    assert "5.25" in buttons[1]["title"]  # coupon: 1.5 × refund, above the ¥5 minimum

    done = text_of(chat.click("/choose_refund"))
    assert "已为您提交¥3.50的退款申请" in done and "退款成功" not in done  # the money is the outbox's to tell
    elapsed = time.monotonic() - started
    print(f"\nfull pen refund conversation: {elapsed:.2f}s")

    refunds = refunds_api(stack, "/refunds?shopper_id=s1")
    mine = [r for r in refunds if r["conversation_id"] == chat.conversation]
    assert len(mine) == 1 and mine[0]["state"] == "settled" and mine[0]["amount_cents"] == 350
    notes = refunds_api(stack, f"/notifications?conversation_id={chat.conversation}")
    assert [(n["kind"], n["refund_id"]) for n in notes] == [("refund_settled", mine[0]["refund_id"])]
    assert notes[0]["text"].startswith("极速退款成功！") and "¥3.50已原路退回" in notes[0]["text"]

    # clicking the same button again pays nothing twice
    again = text_of(chat.click("/choose_refund"))
    assert "退款成功" not in again
    assert len([r for r in refunds_api(stack, "/refunds?shopper_id=s1")
                if r["conversation_id"] == chat.conversation]) == 1


@pytest.mark.parametrize("typed", ["/choose_refund", "／choose_refund", "  /choose_refund", "\u3000/choose_refund"])
def test_typed_intent_syntax_does_not_choose_a_refund(stack: Stack, typed: str) -> None:
    chat = Conversation(stack, "s1")
    chat.send("start", order_id="O1001")
    chat.say("有一支笔坏了")
    for kind, seed in (("package", 11), ("label", 12), ("items", 13)):
        chat.photo(kind, seed=seed + len(typed) * 10)
    before = refunds_api(stack, "/refunds?shopper_id=s1")
    reply = text_of(chat.say(typed))
    assert "退款成功" not in reply
    after = refunds_api(stack, "/refunds?shopper_id=s1")
    assert len(after) == len(before)
    # what reached Rasa is plain text, not the `/intent` shorthand
    token = replace(get_settings(), secret=stack.secret).rasa_api_token
    tracker = httpx.get(f"{stack.url('rasa')}/conversations/s1:{chat.conversation}/tracker",
                        params={"token": token}).json()
    last_user = [e for e in tracker["events"] if e["event"] == "user"][-1]
    assert last_user["text"] == "choose_refund"
    assert last_user["parse_data"]["intent"]["name"] != "choose_refund" or \
        last_user["parse_data"]["intent"]["confidence"] < 1.0


def test_button_that_was_never_offered_is_refused(stack: Stack) -> None:
    chat = Conversation(stack, "s1")
    chat.send("start", order_id="O1001")
    resp = chat.post("button", payload='/inform{"order_id": "O2001"}')
    assert resp.status_code == 422
