"""Order ids keep the case the order feed gave them; a shopper may type one in any case (against the real
refund service, with an order fed through POST /orders)."""

from __future__ import annotations

import json

import httpx
from rasa_sdk.executor import CollectingDispatcher

from actions.ask import ActionAskOrderId
from actions.case_form import ValidateCaseForm
from actions.greet import ActionGreet
from tests.actions.conftest import DOMAIN, slot_events, texts, tracker
from tests.e2e.stack import Stack

SHOPPER = "s_lower"
SENDER = f"{SHOPPER}:c_lower"
ORDER = "o7x-lower"  # the feed accepts [A-Za-z0-9_-]: lower-case letters too


def feed_order(stack: Stack, order_id: str = ORDER, shopper_id: str = SHOPPER) -> None:
    """The platform's order feed (POST /orders with a service token), as bot/refunds/seed.py would."""
    body = {"order_id": order_id, "shopper_id": shopper_id,
            "lines": [{"sku": "PEN-MG-05-BK", "name": "晨光中性笔 0.5mm 黑色", "unit_price_cents": 350, "quantity": 2}]}
    response = httpx.post(f"{stack.url('refunds')}/orders", json=body,
                          headers={"Authorization": f"Bearer {stack.service_token()}"})
    assert response.status_code in (201, 409), response.text  # 409: an earlier test of this session fed it


async def validate_order(said: str, sender: str = SENDER) -> tuple[dict, str]:
    dispatcher = CollectingDispatcher()
    t = tracker(slots={"case_type": "damaged", "requested_slot": "order_id"}, sender=sender,
                entities=[{"entity": "order_id", "value": said}], text=said)
    events = await ValidateCaseForm().run(dispatcher, t, DOMAIN)
    return slot_events(events), texts(dispatcher)


async def test_the_offered_order_button_is_accepted_as_it_was_offered(services: Stack) -> None:
    feed_order(services)
    dispatcher = CollectingDispatcher()
    await ActionAskOrderId().run(dispatcher, tracker(sender=SENDER), DOMAIN)
    payload = dispatcher.messages[0]["buttons"][0]["payload"]
    offered = json.loads(payload.removeprefix("/inform"))["order_id"]
    assert offered == ORDER

    slots, said = await validate_order(offered)  # the click comes back with the payload's entity
    assert slots["order_id"] == ORDER and "没有找到" not in said


async def test_an_order_id_typed_in_another_case_finds_the_shoppers_order(services: Stack) -> None:
    feed_order(services)
    slots, said = await validate_order(ORDER.upper())
    assert slots["order_id"] == ORDER and said == ""


async def test_another_shopper_typing_the_id_in_any_case_does_not_get_the_order(services: Stack) -> None:
    feed_order(services)
    slots, said = await validate_order(ORDER, sender="s1:c_lower_other")
    assert slots["order_id"] is None and "不在您的账号下" in said
    slots, said = await validate_order(ORDER.upper(), sender="s1:c_lower_other")
    assert slots["order_id"] is None and "没有找到这个订单" in said


async def test_the_greeting_shows_a_lower_case_order(services: Stack) -> None:
    feed_order(services)
    dispatcher = CollectingDispatcher()
    t = tracker(intent="greet", entities=[{"entity": "order_id", "value": ORDER}], sender=SENDER)
    events = await ActionGreet().run(dispatcher, t, DOMAIN)
    assert slot_events(events) == {"order_id": ORDER}
    assert f"您咨询的订单 {ORDER}" in texts(dispatcher)
