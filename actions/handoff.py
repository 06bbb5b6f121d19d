"""Handing a conversation to a human agent: on request, on appeal, and after a complaint."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages
from actions.identity import conversation_of, shopper_of
from actions.services import refunds, request_handoff

APPEALABLE = ("rejected", "needs_review", "settled")


async def hand_over(
    tracker: Tracker, *, reason: str, refund_id: str | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """Queue for an agent and leave any open form; the bot pauses only if the gateway took it.

    Returns the events, and whether an agent will pick the conversation up.
    """
    taken = await request_handoff(conversation_id=conversation_of(tracker), reason=reason,
                                  refund_id=refund_id)
    # always leave the form (the rules expect it, whether or not one was open)
    events: list[dict[str, Any]] = [ActiveLoop(None), SlotSet("requested_slot", None)]
    if taken:
        events.append(ConversationPaused())
    return events, taken


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        events, taken = await hand_over(tracker, reason="asked")
        if taken:
            dispatcher.utter_message(text=messages.HANDOFF)
        else:
            dispatcher.utter_message(text=messages.HANDOFF_UNAVAILABLE)
        return events


class ActionOpenAppeal(Action):
    """申诉: the shopper disputes a result; an agent re-checks the latest refund."""

    def name(self) -> str:
        return "action_open_appeal"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        mine = await refunds().list_refunds(shopper_of(tracker))
        target = next((r for r in mine if r.state in APPEALABLE), None)
        if target is None:
            dispatcher.utter_message(text=messages.APPEAL_NOTHING)
            return []
        events, taken = await hand_over(tracker, reason="appeal", refund_id=target.refund_id)
        dispatcher.utter_message(
            text=messages.APPEAL_OPENED.format(refund_id=target.refund_id) if taken
            else messages.HANDOFF_UNAVAILABLE
        )
        return events
