"""The case form on real trackers: what it takes from a message, and what it refuses."""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.case_form import ValidateCaseForm
from bot.db import make_engine
from bot.evidence.service import store_photo
from tests.actions.conftest import CONVERSATION, DOMAIN, slot_events, texts, tracker
from tests.e2e.conftest import photo_bytes
from tests.e2e.stack import Stack


async def run_form(t: Any) -> tuple[dict[str, Any], CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    events = await ValidateCaseForm().run(dispatcher, t, DOMAIN)
    return slot_events(events), dispatcher


def stored_photo(stack: Stack, kind: str, seed: int, conversation: str = CONVERSATION) -> str:
    with Session(make_engine(stack.database_url)) as session:
        photo = store_photo(session, data=photo_bytes(seed), kind=kind, shopper_id="s1",
                            conversation_id=conversation)
        session.commit()
        return photo.id


async def test_pen_report_fills_item_and_quantity_from_the_first_message(services: Stack) -> None:
    t = tracker(
        slots={"case_type": "damaged", "order_id": "O1001"},
        intent="report_damaged", text="有一支笔坏了",
        entities=[{"entity": "item", "value": "笔"}, {"entity": "quantity", "value": 1}],
        events=[{"event": "slot", "name": "order_id", "value": "O1001"}],
    )
    slots, _ = await run_form(t)
    assert slots["item_name"].startswith("晨光中性笔")
    assert slots["quantity"] == 1
    assert "photo_package" not in slots  # the next thing the form asks for


async def test_ambiguous_item_is_asked_not_guessed(services: Stack) -> None:
    t = tracker(slots={"case_type": "damaged", "order_id": "O1001"}, intent="report_damaged",
                text="东西坏了", events=[{"event": "slot", "name": "order_id", "value": "O1001"}])
    slots, _ = await run_form(t)
    assert slots.get("line_id") is None and slots.get("quantity") is None  # asked next, not guessed


async def test_another_shoppers_order_is_refused(services: Stack) -> None:
    t = tracker(slots={"case_type": "damaged"}, entities=[{"entity": "order_id", "value": "O2001"}],
                text="订单O2001")
    slots, dispatcher = await run_form(t)
    assert slots["order_id"] is None
    assert "不在您的账号下" in texts(dispatcher)


async def test_quantity_beyond_what_was_bought_is_refused(services: Stack) -> None:
    t = tracker(
        slots={"case_type": "damaged", "order_id": "O1001", "requested_slot": "quantity"},
        entities=[{"entity": "item", "value": "笔"}, {"entity": "quantity", "value": 50}],
        events=[{"event": "slot", "name": "order_id", "value": "O1001"}],
    )
    slots, dispatcher = await run_form(t)
    assert slots["quantity"] is None
    assert "最多还能申请12件" in texts(dispatcher)


async def test_wrong_item_case_needs_only_label_and_items_photos(services: Stack) -> None:
    form = ValidateCaseForm()
    t = tracker(slots={"case_type": "wrong_item"})
    required = await form.required_slots([], CollectingDispatcher(), t, DOMAIN)
    assert required == ["order_id", "line_id", "quantity", "photo_label", "photo_items"]


async def test_photo_from_another_conversation_is_not_accepted(services: Stack) -> None:
    foreign = stored_photo(services, "package", seed=101, conversation="c_someone_else")
    t = tracker(
        slots={"case_type": "damaged", "order_id": "O1001", "line_id": None, "photo_package": foreign},
        events=[{"event": "slot", "name": "photo_package", "value": foreign}],
    )
    slots, dispatcher = await run_form(t)
    assert slots["photo_package"] is None
    assert "没法用作凭证" in texts(dispatcher)


async def test_photo_of_the_wrong_kind_is_asked_again(services: Stack) -> None:
    label = stored_photo(services, "label", seed=102)
    t = tracker(slots={"case_type": "damaged", "photo_package": label},
                events=[{"event": "slot", "name": "photo_package", "value": label}])
    slots, dispatcher = await run_form(t)
    assert slots["photo_package"] is None
    assert "快递外包装" in texts(dispatcher)
