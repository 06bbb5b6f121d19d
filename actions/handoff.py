"""Handing a conversation to a human agent: on request, on appeal, and after a complaint."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages
from actions.failures import always_answers
from actions.identity import shopper_of
from actions.services import refunds
from bot.rasa_protocol import handoff_request

APPEALABLE = ("rejected", "needs_review", "settled")


def hand_over(
    dispatcher: CollectingDispatcher, *, reason: str, refund_id: str | None = None
) -> list[dict[str, Any]]:
    """Ask the gateway to queue the conversation for an agent, and leave any open form.

    The request is a custom reply (bot.rasa_protocol.handoff_request) that the gateway acts on when it
    reads the bot's answer, and which tells the shopper they are waiting; the bot does not call the
    gateway back, and its tracker is not paused (the gateway stops asking it while an agent holds the chat).
    """
    dispatcher.utter_message(json_message=handoff_request(reason, refund_id))
    # always leave the form (the rules expect it, whether or not one was open)
    return [ActiveLoop(None), SlotSet("requested_slot", None)]


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        return hand_over(dispatcher, reason="asked")


class ActionOpenAppeal(Action):
    """申诉: the shopper disputes a result; an agent re-checks the latest refund."""

    def name(self) -> str:
        return "action_open_appeal"

    @always_answers
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        mine = await refunds().list_refunds(shopper_of(tracker))
        target = next((r for r in mine if r.state in APPEALABLE), None)
        if target is None:
            dispatcher.utter_message(text=messages.APPEAL_NOTHING)
            return []
        dispatcher.utter_message(text=messages.APPEAL_OPENED.format(refund_id=target.refund_id))
        return hand_over(dispatcher, reason="appeal", refund_id=target.refund_id)
