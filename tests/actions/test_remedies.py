"""Offer and remedy actions against the real refund service: prices and idempotency come from it."""

from __future__ import annotations

import httpx
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionFallback
from actions.remedies import ActionCreateRefund, ActionIssueCoupon, ActionOfferRemedy
from bot.rasa_protocol import PHOTO_KINDS
from tests.actions.conftest import DOMAIN, slot_events, texts, tracker
from tests.actions.test_case_form import stored_photo
from tests.e2e.stack import Stack


def finished_case(stack: Stack, conversation: str, seed: int, quantity: float = 1.0) -> dict[str, object]:
    return {
        "case_type": "damaged", "order_id": "O1001", "line_id": pen_line(stack), "quantity": quantity,
        "item_name": "晨光中性笔 0.5mm 黑色", "remedy_offered": True,
        **{f"photo_{k}": stored_photo(stack, k, seed + i, conversation)
           for i, k in enumerate(PHOTO_KINDS)},
    }


def pen_line(stack: Stack) -> str:
    order = httpx.get(f"{stack.url('refunds')}/orders/O1001",
                      headers={"Authorization": f"Bearer {stack.service_token()}"}).json()
    return next(line["line_id"] for line in order["lines"] if "中性笔" in line["name"])


async def test_offer_puts_recommended_refund_first_with_service_prices(services: Stack) -> None:
    dispatcher = CollectingDispatcher()
    t = tracker(slots={"order_id": "O1001", "line_id": pen_line(services), "quantity": 2.0,
                       "item_name": "晨光中性笔"})
    events = await ActionOfferRemedy().run(dispatcher, t, DOMAIN)
    buttons = dispatcher.messages[0]["buttons"]
    assert [b["payload"] for b in buttons] == ["/choose_refund", "/choose_coupon"]
    assert "7.00" in buttons[0]["title"] and "10.50" in buttons[1]["title"]
    assert slot_events(events)["remedy_offered"] is True


async def test_refund_is_created_once_however_often_it_is_chosen(services: Stack) -> None:
    sender = "s1:c_refund_once"
    case = finished_case(services, "c_refund_once", seed=200)
    first, second = CollectingDispatcher(), CollectingDispatcher()
    events = await ActionCreateRefund().run(first, tracker(slots=case, sender=sender), DOMAIN)
    await ActionCreateRefund().run(second, tracker(slots=case, sender=sender), DOMAIN)
    assert "已为您提交¥3.50的退款申请" in texts(first)  # the refund service's notice says the money is back
    refund_id = slot_events(events)["refund_id"]
    mine = httpx.get(f"{services.url('refunds')}/refunds", params={"shopper_id": "s1"},
                     headers={"Authorization": f"Bearer {services.service_token()}"}).json()
    assert [r["refund_id"] for r in mine if r["conversation_id"] == "c_refund_once"] == [refund_id]


async def test_choosing_a_remedy_without_an_offer_creates_nothing(services: Stack) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionCreateRefund().run(dispatcher, tracker(slots={"order_id": "O1001"}), DOMAIN)
    assert events == []
    assert "请先告诉我哪件商品出了什么问题" in texts(dispatcher)


async def test_coupon_is_worth_more_than_the_refund(services: Stack) -> None:
    case = finished_case(services, "c_coupon", seed=300)
    dispatcher = CollectingDispatcher()
    await ActionIssueCoupon().run(dispatcher, tracker(slots=case, sender="s1:c_coupon"), DOMAIN)
    assert "¥5.25" in texts(dispatcher)  # one ¥3.50 pen x policy.yml coupon_multiplier 1.5, over the ¥5 minimum
    # the code and expiry are the refund service's notice to tell, in the same chat
    notes = httpx.get(f"{services.url('refunds')}/notifications", params={"conversation_id": "c_coupon"},
                      headers={"Authorization": f"Bearer {services.service_token()}"}).json()
    assert [n["kind"] for n in notes] == ["coupon_issued"] and "¥5.25" in notes[0]["text"]
    assert "券码 QC" in notes[0]["text"] and "券码 QC" not in texts(dispatcher)


def fallback_event() -> dict[str, object]:
    return {"event": "user", "parse_data": {"intent": {"name": "nlu_fallback"}}}


async def test_second_miss_in_a_row_offers_a_human() -> None:
    once, twice = CollectingDispatcher(), CollectingDispatcher()
    await ActionFallback().run(once, tracker(events=[fallback_event()]), DOMAIN)
    await ActionFallback().run(twice, tracker(events=[fallback_event(), fallback_event()]), DOMAIN)
    assert "没太明白" in texts(once) and not once.messages[0]["buttons"]
    assert "转人工" in texts(twice)
    assert [b["payload"] for b in twice.messages[0]["buttons"]] == ["/request_human", "/deny"]


async def test_a_refund_held_for_review_asks_for_an_agent_in_the_answer(services: Stack) -> None:
    case = {**finished_case(services, "c_review", seed=400), "line_id": "O1001-3"}  # over the auto limit
    dispatcher = CollectingDispatcher()
    events = await ActionCreateRefund().run(dispatcher, tracker(slots=case, sender="s1:c_review"), DOMAIN)
    refund_id = slot_events(events)["refund_id"]
    asks = [m["custom"] for m in dispatcher.messages if m.get("custom")]
    assert asks == [{"handoff": {"reason": "risk", "refund_id": refund_id}}]
    assert {"event": "active_loop", "name": None} in [{k: e.get(k) for k in ("event", "name")} for e in events]
