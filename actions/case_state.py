"""The slots that make up one after-sales case, and how a case starts and ends."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages

CASE_BY_INTENT = {
    "report_damaged": "damaged",
    "report_missing_item": "missing_item",
    "report_wrong_item": "wrong_item",
    "report_not_as_described": "not_as_described",
    "report_not_delivered": "not_delivered",
}
# A parcel that never came concerns every line of the order, not one item.
WHOLE_ORDER_CASES = ("not_delivered",)
CASE_SLOTS = (
    "case_type", "line_id", "item_name", "quantity",
    "photo_package", "photo_label", "photo_items", "remedy_offered", "failed_answers", "remedy_wanted",
)


def case_reset() -> list[dict[str, Any]]:
    """Forget the case (the order stays: the shopper is still talking about it)."""
    return [SlotSet(slot, None) for slot in CASE_SLOTS]


def case_open(tracker: Tracker) -> bool:
    return any(tracker.get_slot(slot) is not None for slot in CASE_SLOTS)


class ActionStartCase(Action):
    """Opens a case of the type the shopper reported; the case form then gathers the rest."""

    def name(self) -> str:
        return "action_start_case"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        intent = tracker.latest_message.get("intent", {}).get("name")
        events: list[dict[str, Any]] = []
        if tracker.get_slot("remedy_offered"):
            events += case_reset()  # the previous case ended with an offer; this one starts afresh
        events.append(SlotSet("case_type", CASE_BY_INTENT.get(intent, "damaged")))
        return events


class ActionCancelCase(Action):
    """「算了不退了」: drop the open request, whatever step it is at."""

    def name(self) -> str:
        return "action_cancel_case"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if not case_open(tracker) and not tracker.active_loop_name:
            dispatcher.utter_message(text=messages.NOTHING_TO_CANCEL)
            return [ActiveLoop(None)]
        dispatcher.utter_message(text=messages.CASE_CANCELLED)
        return [*case_reset(), SlotSet("requested_slot", None), ActiveLoop(None)]


class ActionPhotoReceived(Action):
    """A photo arrived before the shopper said what went wrong: keep it and ask."""

    def name(self) -> str:
        return "action_photo_received"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=messages.PHOTO_RECEIVED_NO_CASE)
        dispatcher.utter_message(response="utter_ask_problem")
        return []
