"""退款到哪了: the shopper's latest refunds and where each one stands."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages
from actions.failures import always_answers
from actions.identity import shopper_of
from actions.services import refunds

SHOWN = 3


class ActionRefundStatus(Action):
    def name(self) -> str:
        return "action_refund_status"

    @always_answers
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        client = refunds()
        mine = (await client.list_refunds(shopper_of(tracker)))[:SHOWN]
        if not mine:
            dispatcher.utter_message(text=messages.NO_REFUNDS)
            return []
        names: dict[tuple[str, str], str] = {}
        for order_id in {r.order_id for r in mine}:
            order = await client.get_order(order_id)
            names.update({(order_id, line.line_id): line.name for line in order.lines})
        lines = [
            messages.status_line(r.refund_id, names.get((r.order_id, r.line_id), "商品"), r.amount_cents, r.state)
            for r in mine
        ]
        dispatcher.utter_message(text="\n".join([messages.STATUS_HEADER, *lines]))
        return []
