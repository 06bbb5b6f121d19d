"""投诉: record a categorised complaint with a ticket number, then queue it for an agent."""

from __future__ import annotations

import hashlib
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages
from actions.failures import SERVICE_ERRORS, tell_service_down
from actions.handoff import hand_over
from actions.identity import conversation_of, shopper_of
from actions.services import refunds


class ActionRecordComplaint(Action):
    def name(self) -> str:
        return "action_record_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        # one ticket per complaint message, however often Rasa retries the action
        message_id = tracker.latest_message.get("message_id") or f"{tracker.sender_id}|{len(tracker.events)}"
        try:
            complaint = await refunds().create_complaint(
                shopper_id=shopper_of(tracker), conversation_id=conversation_of(tracker), text=text,
                idempotency_key=hashlib.sha256(f"complaint|{message_id}".encode()).hexdigest(),
            )
        except SERVICE_ERRORS as exc:
            tell_service_down(dispatcher, tracker, self.name(), exc)
            return [ActiveLoop(None)]
        dispatcher.utter_message(
            text=messages.COMPLAINT_RECORDED.format(category=complaint.category_label, ticket=complaint.ticket)
        )
        return hand_over(dispatcher, reason="complaint")
