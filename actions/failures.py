"""When a call to the refund service fails: the shopper is told (in Chinese, once a turn) and it is logged (in English).

An action that raised would end without a word to the shopper (the action server answers Rasa with an error, and
whatever the action had said is lost), so every action that reaches the refund service answers through here.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import messages
from actions.identity import UnknownShopper
from actions.orders import OrderProblem
from bot import faults, metrics
from bot.refunds.client import RefundsError

logger = logging.getLogger(__name__)

# What a refund service call may raise: the client turns transport errors into RefundsError (status 0), httpx's own
# are listed in case one slips through.
SERVICE_ERRORS = (RefundsError, httpx.HTTPError)

Events = list[dict[str, Any]]
Run = Callable[[Any, CollectingDispatcher, Tracker, dict[str, Any]], Awaitable[Events]]


def said_this_turn(dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> bool:
    """Whether the bot already said `text` since the shopper's latest message (in this action or an earlier one,
    e.g. the form's validation before the question that follows it)."""
    if any(message.get("text") == text for message in dispatcher.messages):
        return True
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot" and event.get("text") == text:
            return True
    return False


def tell_service_down(dispatcher: CollectingDispatcher, tracker: Tracker, action: str, exc: Exception) -> None:
    """Log the failure and ask the shopper to try again later (or ask for a person)."""
    logger.warning("%s: the refund service call failed for %s (%s); asked the shopper to try again later",
                   action, tracker.sender_id, exc)
    metrics.ACTION_ERRORS.labels(action, "service_down").inc()
    if not said_this_turn(dispatcher, tracker, messages.SERVICE_DOWN):
        dispatcher.utter_message(text=messages.SERVICE_DOWN)


def always_answers(run: Run) -> Run:
    """Wrap an action's `run` so that a failing refund service, an order that can no longer be used, or a
    conversation not opened through the trusted channel end in a reply, not in silence."""

    @functools.wraps(run)
    async def guarded(self: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        await faults.reached(f"actions.{self.name()}")  # tests/faults only (BOT_FAULTS); nothing when unset
        try:
            return await run(self, dispatcher, tracker, domain)
        except SERVICE_ERRORS as exc:
            tell_service_down(dispatcher, tracker, self.name(), exc)
        except OrderProblem as problem:
            logger.info("%s: the order is unknown or not theirs for %s", self.name(), tracker.sender_id)
            dispatcher.utter_message(text=problem.message)
        except UnknownShopper:
            logger.warning("%s: sender id %r was not made by the trusted channel", self.name(), tracker.sender_id)
            dispatcher.utter_message(text=messages.NOT_IDENTIFIED)
        return []

    return guarded
