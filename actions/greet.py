"""Opening the chat: the app may hand over the order the shopper came from."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages
from actions.failures import always_answers
from actions.identity import UnknownShopper, shopper_of
from actions.orders import OrderProblem, owned_order


class ActionGreet(Action):
    def name(self) -> str:
        return "action_greet"

    @always_answers
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        order_id = next(tracker.get_latest_entity_values("order_id"), None)
        dispatcher.utter_message(text=messages.GREETING)
        if not order_id:
            return []
        try:
            order = await owned_order(str(order_id), shopper_of(tracker))
        except (OrderProblem, UnknownShopper):
            return []
        items = "、".join(messages.line_button_title(line.name, line.quantity) for line in order.lines)
        dispatcher.utter_message(text=messages.ORDER_CONTEXT.format(order_id=order.order_id, items=items))
        return [SlotSet("order_id", order.order_id)]
