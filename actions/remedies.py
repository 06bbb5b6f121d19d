"""The remedy: offer refund or coupon, then create the one the shopper picked (idempotently)."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages
from actions.case_state import WHOLE_ORDER_CASES, case_reset
from actions.failures import always_answers
from actions.handoff import hand_over
from actions.identity import conversation_of, shopper_of
from actions.orders import open_lines, owned_order, remaining
from actions.services import refunds
from bot.policy import evidence_for
from bot.refunds.client import RefundsError


def _case(tracker: Tracker) -> dict[str, Any] | None:
    """The finished case the offer was made for, or None if there is no such case.

    A whole-order case (a parcel that never came) has no line yet: `line_id` stays None and the remedy covers
    every open line of the order, as the refund service has it at that moment.
    """
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
    if not case["order_id"] or None in case["photo_ids"]:
        return None
    if case_type not in WHOLE_ORDER_CASES and (not case["line_id"] or case["quantity"] < 1):
        return None
    return case


async def _lines_of(tracker: Tracker, case: dict[str, Any]) -> list[dict[str, Any]]:
    """One case per order line the remedy covers: the chosen line, or every open line of a whole-order case
    with all that is left of it (read from the refund service, never from slots)."""
    if case["line_id"]:
        return [case]
    order = await owned_order(case["order_id"], shopper_of(tracker))
    return [{**case, "line_id": line.line_id, "quantity": remaining(line)} for line in open_lines(order)]


def _idempotency_key(kind: str, tracker: Tracker, case: dict[str, Any]) -> str:
    """Same conversation, same case: the same key, so a double click never pays twice."""
    parts = [kind, tracker.sender_id, case["order_id"], case["line_id"], str(case["quantity"]),
             case["case_type"], *case["photo_ids"]]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


class ActionOfferRemedy(Action):
    def name(self) -> str:
        return "action_offer_remedy"

    @always_answers
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        order_id = tracker.get_slot("order_id")
        lines = await _lines_of(tracker, {"order_id": order_id, "line_id": tracker.get_slot("line_id"),
                                          "quantity": int(tracker.get_slot("quantity") or 0)})
        if not lines:
            dispatcher.utter_message(text=messages.NOTHING_LEFT)
            return case_reset()
        quotes = [await refunds().quote(order_id, line["line_id"], line["quantity"]) for line in lines]
        refund_cents = sum(q.refund_cents for q in quotes)
        coupon_cents = sum(q.coupon_cents for q in quotes)
        refund = {"title": messages.refund_title(refund_cents), "payload": "/choose_refund"}
        coupon = {"title": messages.coupon_title(coupon_cents), "payload": "/choose_coupon"}
        wanted = tracker.get_slot("remedy_wanted")  # said before the offer: shown first, still to confirm
        first = wanted or quotes[0].recommended
        buttons = [coupon, refund] if first == "coupon" else [refund, coupon]
        if wanted:
            dispatcher.utter_message(text=messages.REMEDY_WANTED_CONFIRM.format(remedy=messages.REMEDY_NAMES[wanted]))
        if tracker.get_slot("line_id"):
            text = messages.offer_text(tracker.get_slot("item_name") or "商品", lines[0]["quantity"], refund_cents,
                                       coupon_cents)
        else:
            text = messages.whole_order_offer_text(order_id, sum(line["quantity"] for line in lines), refund_cents,
                                                   coupon_cents)
        dispatcher.utter_message(text=text, buttons=buttons)
        return [SlotSet("remedy_offered", True)]


class ActionNoteRemedy(Action):
    """「给券吧」 before the case is complete: remember the choice for the offer, carry on with the form."""

    def name(self) -> str:
        return "action_note_remedy"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        wanted = "coupon" if intent == "choose_coupon" else "refund"
        dispatcher.utter_message(text=messages.REMEDY_NOTED.format(remedy=messages.REMEDY_NAMES[wanted]))
        return [SlotSet("remedy_wanted", wanted)]


class _RemedyAction(Action, ABC):
    """Shared shape of the two remedies: only for an offered case, and a refusal ends the case."""

    @always_answers
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        case = _case(tracker)
        if case is None:
            dispatcher.utter_message(text=messages.NO_OPEN_CASE)
            return []
        try:
            lines = await _lines_of(tracker, case)
            if not lines:
                dispatcher.utter_message(text=messages.NOTHING_LEFT)
                return case_reset()
            return await self.remedy(dispatcher, tracker, lines)
        except RefundsError as exc:
            if exc.status != 409:
                raise  # anything else is ours: always_answers tells the shopper and logs it
            # 409: the item was already remedied (e.g. in another conversation)
            dispatcher.utter_message(text=messages.NOTHING_LEFT)
            return case_reset()

    @abstractmethod
    async def remedy(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, lines: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Create the remedy for each order line of the case and tell the shopper; return the events."""


class ActionCreateRefund(_RemedyAction):
    def name(self) -> str:
        return "action_create_refund"

    async def remedy(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, lines: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        created = [
            await refunds().create_refund(
                shopper_id=shopper_of(tracker), conversation_id=conversation_of(tracker),
                idempotency_key=_idempotency_key("refund", tracker, line), **line,
            )
            for line in lines
        ]
        events: list[dict[str, Any]] = [*case_reset(), SlotSet("refund_id", created[-1].refund_id)]
        settled = sum(r.amount_cents for r in created if r.state == "settled")
        review = [r for r in created if r.state not in ("settled", "rejected")]
        if settled:  # the refund service's notice, told right after this answer, says the money is back
            dispatcher.utter_message(text=messages.refund_submitted(settled))
        for refund in created:
            if refund.state == "rejected":
                dispatcher.utter_message(text=messages.refund_rejected(refund.reason or ""))
        if review:
            dispatcher.utter_message(text=messages.refund_in_review(sum(r.amount_cents for r in review)))
            events += hand_over(dispatcher, reason="risk", refund_id=review[0].refund_id)
        return events


class ActionIssueCoupon(_RemedyAction):
    def name(self) -> str:
        return "action_issue_coupon"

    async def remedy(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, lines: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        value = 0
        for line in lines:
            coupon = await refunds().issue_coupon(
                shopper_id=shopper_of(tracker), conversation_id=conversation_of(tracker),
                order_id=line["order_id"], line_id=line["line_id"], quantity=line["quantity"],
                idempotency_key=_idempotency_key("coupon", tracker, line),
            )
            value += coupon.value_cents
        # the code and expiry come in the refund service's notice, told right after this answer
        dispatcher.utter_message(text=messages.coupon_requested(value))
        return case_reset()
