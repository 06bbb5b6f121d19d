"""The case form: which order, which item, how many, and the photos the policy asks for."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions import messages
from actions.case_state import WHOLE_ORDER_CASES
from actions.failures import SERVICE_ERRORS, tell_service_down
from actions.fallback import MISSES_BEFORE_HUMAN
from actions.identity import conversation_of, shopper_of
from actions.orders import OrderProblem, find_line, match_line, owned_order, remaining
from actions.services import refunds
from bot import faults
from bot.policy import evidence_for
from bot.rasa_protocol import PHOTO_KINDS
from bot.refunds.client import RefundsError

PHOTO_SLOTS = {f"photo_{kind}": kind for kind in PHOTO_KINDS}
# Messages that try to answer the form's question; a message of another intent (a digression, a restated
# problem) is not counted as a failed answer.
ANSWER_INTENTS = ("inform", "upload_photo")


def _latest_entity(tracker: Tracker, entity: str) -> Any:
    return next(tracker.get_latest_entity_values(entity), None)


# Bot turns that ask what the problem is; a problem button clicked after one continues the message before it.
PROBLEM_ASKERS = ("utter_ask_problem", "action_photo_received")


def case_values(tracker: Tracker, entity: str) -> list[Any]:
    """The values of `entity` the shopper gave in this case, newest message first: 「有一支笔坏了」 still names
    the pen after the order was picked from the buttons.

    The case began with the message that opened it; when that was a click on a problem button the bot offered
    by asking what the problem was, with the message before that question too (「订单O1001 13支笔坏了3支」, then
    商品破损).
    """
    values: list[Any] = []
    # stages: "case" (messages after the case opened), "start" (the case just opened: the next message back
    # opened it), "opener" (that was a problem button: was it an answer to the problem question?), "asked" (it
    # was: read the one message before the question, then stop)
    stage = "case"
    for event in reversed(tracker.events):
        kind, name = event.get("event"), event.get("name")
        if kind == "action" and name == "action_start_case" and stage == "case":
            stage = "start"
        elif kind == "action" and stage == "opener" and name != "action_listen":
            if name not in PROBLEM_ASKERS:
                break
            stage = "asked"
        elif kind == "user":
            values += [e.get("value") for e in reversed((event.get("parse_data") or {}).get("entities", []))
                       if e.get("entity") == entity and e.get("value") is not None]
            if stage == "asked" or (stage == "start" and not _opened_by_button(event)):
                break
            if stage == "start":
                stage = "opener"
    return values


def _opening(tracker: Tracker) -> bool:
    """Whether the form is being opened (nothing asked yet). Only then are earlier messages of the case read for
    an order or a quantity: later, a value the form refused must not come back on every turn (and a message
    that answers nothing must reach the rules, e.g. 转人工)."""
    return tracker.get_slot("requested_slot") is None


def _opened_by_button(event: dict[str, Any]) -> bool:
    """Whether a user message is a click on a problem button (a report intent the bot itself offered)."""
    return str(event.get("text") or "").startswith("/report_")


def case_item(tracker: Tracker) -> str | None:
    """The item named in this case (see case_values), newest first."""
    said = _latest_entity(tracker, "item")
    if said:
        return str(said)
    values = case_values(tracker, "item")
    return str(values[0]) if values else None


class ValidateCaseForm(FormValidationAction):
    def name(self) -> str:
        return "validate_case_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Order, item and quantity, then the photos data/policy.yml lists for this case type.

        A parcel that never came concerns the whole order: only the order is asked (the offer covers its lines).
        """
        case_type = tracker.get_slot("case_type") or "damaged"
        photos = [f"photo_{kind}" for kind in evidence_for(case_type)]
        if case_type in WHOLE_ORDER_CASES:
            return ["order_id", *photos]
        return ["order_id", "line_id", "quantity", *photos]

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Extract and validate as usual, then count a second failed answer to the same question: offer a
        human then, rather than asking a third time in the same words."""
        await faults.reached(f"actions.{self.name()}")  # tests/faults only (BOT_FAULTS); nothing when unset
        asked = tracker.get_slot("requested_slot")
        misses = dict(tracker.get_slot("failed_answers") or {})
        try:
            events = await super().run(dispatcher, tracker, domain)
        except SERVICE_ERRORS as exc:
            tell_service_down(dispatcher, tracker, self.name(), exc)
            # the question stays open, to be asked again; answering it (with nothing) keeps the form from being
            # rejected, which would drop this reply
            return [SlotSet(asked, None)] if asked else []
        except OrderProblem as problem:  # the chosen order went away meanwhile: ask for the order again
            dispatcher.utter_message(text=problem.message)
            return [SlotSet("order_id", None), SlotSet("line_id", None), SlotSet("quantity", None)]
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if not asked or intent not in ANSWER_INTENTS:
            return events
        filled = [e for e in events
                  if e.get("event") == "slot" and e.get("name") != "requested_slot" and e.get("value") is not None]
        if filled:
            return [*events, SlotSet("failed_answers", None)] if misses else events
        misses = {asked: int(misses.get(asked, 0)) + 1}
        if misses[asked] >= MISSES_BEFORE_HUMAN:
            dispatcher.utter_message(text=messages.STILL_NOT_MATCHED, buttons=messages.HUMAN_BUTTON)
        return [*events, SlotSet("failed_answers", misses)]

    # -- extraction: what this message says, before validation decides whether it holds ----------

    async def extract_order_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        said = _latest_entity(tracker, "order_id")
        if not said and _opening(tracker) and tracker.get_slot("order_id") is None:
            said = next(iter(case_values(tracker, "order_id")), None)
        if not said:
            return {}
        order_id = str(said)  # in the case the shopper gave it; validation reads the feed's id back
        before = tracker.get_slot("order_id")
        if before is not None and str(before).lower() != order_id.lower():
            # another order than before: the item and quantity chosen in the old one no longer hold
            return {"order_id": order_id, "line_id": None, "item_name": None, "quantity": None}
        return {"order_id": order_id}

    async def extract_line_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        clicked = _latest_entity(tracker, "line_id")
        if clicked:
            return {"line_id": str(clicked)}
        order_id = tracker.get_slot("order_id")
        if tracker.get_slot("line_id") or not order_id:
            return {}
        try:
            order = await owned_order(order_id, shopper_of(tracker))
        except OrderProblem:
            return {}
        line = match_line(order, case_item(tracker))
        return {"line_id": line.line_id} if line else {}

    async def extract_quantity(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # 「13支笔坏了3支」: of several numbers, the last is the one that went wrong
        said = next(reversed(list(tracker.get_latest_entity_values("quantity"))), None)
        if said is None and _opening(tracker) and tracker.get_slot("quantity") is None:
            said = next(iter(case_values(tracker, "quantity")), None)
        if said is not None and (tracker.get_slot("quantity") is None
                                 or tracker.get_slot("requested_slot") == "quantity"):
            return {"quantity": said}
        return {}

    # -- validation: everything is re-read from the refund service ------------------------------

    async def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        try:
            order = await owned_order(str(value), shopper_of(tracker))
        except OrderProblem as problem:
            dispatcher.utter_message(text=problem.message)
            return {"order_id": None}
        return {"order_id": order.order_id}

    async def validate_line_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        order_id = tracker.get_slot("order_id")
        if not order_id:
            return {"line_id": None}
        order = await owned_order(order_id, shopper_of(tracker))
        line = find_line(order, str(value))
        if line is None:
            return {"line_id": None}
        if remaining(line) <= 0:
            dispatcher.utter_message(text=messages.NOTHING_LEFT)
            return {"line_id": None}
        slots: dict[str, Any] = {"line_id": line.line_id, "item_name": line.name}
        if tracker.get_slot("quantity") is None and remaining(line) == 1:
            slots["quantity"] = 1
        return slots

    async def validate_quantity(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        try:
            quantity = int(float(value))
        except (TypeError, ValueError):
            return {"quantity": None}
        if quantity < 1:
            dispatcher.utter_message(text=messages.QUANTITY_INVALID)
            return {"quantity": None}
        order_id, line_id = tracker.get_slot("order_id"), tracker.get_slot("line_id")
        if order_id and line_id:
            order = await owned_order(order_id, shopper_of(tracker))
            line = find_line(order, line_id)
            if line is not None and quantity > remaining(line):
                dispatcher.utter_message(text=messages.QUANTITY_TOO_MANY.format(max=remaining(line)))
                return {"quantity": None}
        return {"quantity": quantity}

    async def _validate_photo(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        try:
            photo = await refunds().get_photo(str(value))
        except RefundsError as exc:
            if exc.status != 404:
                raise  # not the photo's fault: run() says the service is busy
            dispatcher.utter_message(text=messages.PHOTO_NOT_USABLE)
            return {slot: None}
        if photo.shopper_id != shopper_of(tracker) or photo.conversation_id != conversation_of(tracker):
            dispatcher.utter_message(text=messages.PHOTO_NOT_USABLE)
            return {slot: None}
        if photo.kind != PHOTO_SLOTS[slot]:
            label = messages.PHOTO_LABELS[PHOTO_SLOTS[slot]]
            dispatcher.utter_message(text=messages.PHOTO_WRONG_KIND.format(label=label))
            return {slot: None}
        if tracker.get_slot("requested_slot") != slot:
            # sent before it was asked for: say it is kept, so the question that follows makes sense
            dispatcher.utter_message(text=messages.PHOTO_KEPT.format(label=messages.PHOTO_SHORT[photo.kind]))
        return {slot: photo.photo_id}

    async def validate_photo_package(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return await self._validate_photo("photo_package", value, dispatcher, tracker)

    async def validate_photo_label(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return await self._validate_photo("photo_label", value, dispatcher, tracker)

    async def validate_photo_items(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return await self._validate_photo("photo_items", value, dispatcher, tracker)
