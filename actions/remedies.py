"""The remedy: offer refund or coupon, then create the one the shopper picked (idempotently)."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages
from actions.case_state import case_reset
from actions.identity import conversation_of, shopper_of
from actions.services import refunds, request_handoff
from bot.policy import evidence_for
from bot.refunds.client import RefundsError


def _case(tracker: Tracker) -> dict[str, Any] | None:
    """The finished case the offer was made for, or None if there is no such case."""
    if not tracker.get_slot("remedy_offered"):
        return None
    case_type = tracker.get_slot("case_type") or "damaged"
    case = {
        "order_id": tracker.get_slot("order_id"),
        "line_id": tracker.get_slot("line_id"),
        "quantity": int(tracker.get_slot("quantity") or 0),
        "case_type": case_type,
        "photo_ids": [tracker.get_slot(f"photo_{k}") for k in evidence_for(case_type)],
    }
    if not case["order_id"] or not case["line_id"] or case["quantity"] < 1 or None in case["photo_ids"]:
        return None
    return case


def _idempotency_key(kind: str, tracker: Tracker, case: dict[str, Any]) -> str:
    """Same conversation, same case: the same key, so a double click never pays twice."""
    parts = [kind, tracker.sender_id, case["order_id"], case["line_id"], str(case["quantity"]),
             case["case_type"], *case["photo_ids"]]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


class ActionOfferRemedy(Action):
    def name(self) -> str:
        return "action_offer_remedy"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        quantity = int(tracker.get_slot("quantity"))
        quote = await refunds().quote(tracker.get_slot("order_id"), tracker.get_slot("line_id"), quantity)
        refund = {"title": messages.refund_title(quote.refund_cents), "payload": "/choose_refund"}
        coupon = {"title": messages.coupon_title(quote.coupon_cents), "payload": "/choose_coupon"}
        buttons = [coupon, refund] if quote.recommended == "coupon" else [refund, coupon]
        text = messages.offer_text(tracker.get_slot("item_name") or "商品", quantity,
                                   quote.refund_cents, quote.coupon_cents)
        dispatcher.utter_message(text=text, buttons=buttons)
        return [SlotSet("remedy_offered", True)]


class _RemedyAction(Action, ABC):
    """Shared shape of the two remedies: only for an offered case, and a refusal ends the case."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        case = _case(tracker)
        if case is None:
            dispatcher.utter_message(text=messages.NO_OPEN_CASE)
            return []
        try:
            return await self.remedy(dispatcher, tracker, case)
        except RefundsError as exc:
            # 409: the item was already remedied (e.g. in another conversation); anything else is ours
            dispatcher.utter_message(text=messages.NOTHING_LEFT if exc.status == 409 else messages.SERVICE_DOWN)
            return case_reset() if exc.status == 409 else []

    @abstractmethod
    async def remedy(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, case: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Create the remedy for `case` and tell the shopper; return the events."""


class ActionCreateRefund(_RemedyAction):
    def name(self) -> str:
        return "action_create_refund"

    async def remedy(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, case: dict[str, Any]
    ) -> list[dict[str, Any]]:
        refund = await refunds().create_refund(
            shopper_id=shopper_of(tracker), conversation_id=conversation_of(tracker),
            idempotency_key=_idempotency_key("refund", tracker, case), **case,
        )
        events: list[dict[str, Any]] = [*case_reset(), SlotSet("refund_id", refund.refund_id)]
        if refund.state == "settled":
            dispatcher.utter_message(text=messages.refund_settled(refund.amount_cents))
        elif refund.state == "rejected":
            dispatcher.utter_message(text=messages.refund_rejected(refund.reason or ""))
        else:
            dispatcher.utter_message(text=messages.refund_in_review(refund.amount_cents))
            if await request_handoff(conversation_id=conversation_of(tracker), reason="risk",
                                     refund_id=refund.refund_id):
                events.append(ConversationPaused())
        return events


class ActionIssueCoupon(_RemedyAction):
    def name(self) -> str:
        return "action_issue_coupon"

    async def remedy(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, case: dict[str, Any]
    ) -> list[dict[str, Any]]:
        coupon = await refunds().issue_coupon(
            shopper_id=shopper_of(tracker), conversation_id=conversation_of(tracker),
            order_id=case["order_id"], line_id=case["line_id"], quantity=case["quantity"],
            idempotency_key=_idempotency_key("coupon", tracker, case),
        )
        expires = coupon.expires_at.strftime("%Y-%m-%d")
        dispatcher.utter_message(text=messages.coupon_issued(coupon.code, coupon.value_cents, expires))
        return case_reset()
