"""How the case form asks: orders and items as buttons, quantities as buttons, photos by policy."""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages
from actions.failures import always_answers
from actions.identity import shopper_of
from actions.orders import open_lines, owned_order, remaining
from actions.services import refunds
from bot.policy import evidence_for

MAX_QUANTITY_BUTTONS = 5


def inform_payload(**entities: Any) -> str:
    return "/inform" + json.dumps(entities, ensure_ascii=False)


class ActionAskOrderId(Action):
    def name(self) -> str:
        return "action_ask_order_id"

    @always_answers
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        orders = await refunds().list_orders(shopper_of(tracker))
        if not orders:
            dispatcher.utter_message(text=messages.NO_ORDERS)
            return []
        buttons = [
            {
                "title": messages.order_button_title(
                    o.order_id, o.lines[0].name, len(o.lines), o.placed_at.strftime("%m月%d日")
                ),
                "payload": inform_payload(order_id=o.order_id),
            }
            for o in orders[:5]
        ]
        dispatcher.utter_message(text=messages.ASK_ORDER, buttons=buttons)
        return []


class ActionAskLineId(Action):
    def name(self) -> str:
        return "action_ask_line_id"

    @always_answers
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        order = await owned_order(tracker.get_slot("order_id"), shopper_of(tracker))
        buttons = [
            {"title": messages.line_button_title(line.name, line.quantity),
             "payload": inform_payload(line_id=line.line_id)}
            for line in open_lines(order)
        ]
        dispatcher.utter_message(text=messages.ASK_LINE, buttons=buttons)
        return []


class ActionAskQuantity(Action):
    def name(self) -> str:
        return "action_ask_quantity"

    @always_answers
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        order = await owned_order(tracker.get_slot("order_id"), shopper_of(tracker))
        line = next(x for x in order.lines if x.line_id == tracker.get_slot("line_id"))
        top = min(remaining(line), MAX_QUANTITY_BUTTONS)
        buttons = [{"title": f"{n}件", "payload": inform_payload(quantity=n)} for n in range(1, top + 1)]
        dispatcher.utter_message(text=messages.ASK_QUANTITY, buttons=buttons)
        return []


class _PhotoAsk:
    """Asks for one photo; the first request lists every photo the case needs, as the policy says."""

    kind = ""

    def name(self) -> str:
        return f"action_ask_photo_{self.kind}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        case_type = tracker.get_slot("case_type") or "damaged"
        kinds = evidence_for(case_type)
        asked_before = any(tracker.get_slot(f"photo_{k}") for k in kinds)
        if asked_before:
            text = messages.next_photo_request(kinds, self.kind)
        else:
            text = messages.first_photo_request(kinds, messages.CASE_LABELS[case_type])
        dispatcher.utter_message(text=text, json_message={"upload": self.kind})
        return []


class ActionAskPhotoPackage(_PhotoAsk, Action):
    kind = "package"


class ActionAskPhotoLabel(_PhotoAsk, Action):
    kind = "label"


class ActionAskPhotoItems(_PhotoAsk, Action):
    kind = "items"
