"""Not understood: rephrase once, and after two misses in a row offer a human."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages

MISSES_BEFORE_HUMAN = 2


def misses_in_a_row(tracker: Tracker) -> int:
    """How many of the latest user messages, counting back from now, fell back."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        if event.get("parse_data", {}).get("intent", {}).get("name") != "nlu_fallback":
            break
        count += 1
    return count


class ActionFallback(Action):
    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if misses_in_a_row(tracker) >= MISSES_BEFORE_HUMAN:
            dispatcher.utter_message(text=messages.OFFER_HUMAN, buttons=messages.OFFER_HUMAN_BUTTONS)
        else:
            dispatcher.utter_message(text=messages.NOT_UNDERSTOOD)
        return []
