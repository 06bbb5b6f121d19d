"""Handing over: the bot asks for an agent in its answer and leaves any open form, the same way every time."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionHandoff
from tests.actions.conftest import DOMAIN, tracker


async def test_handoff_asks_the_gateway_in_its_answer_and_leaves_the_form() -> None:
    dispatcher = CollectingDispatcher()
    t = tracker(slots={"order_id": "O1001", "requested_slot": "quantity"}, sender="s1:c_handoff")
    events = await ActionHandoff().run(dispatcher, t, DOMAIN)
    assert [m.get("custom") for m in dispatcher.messages] == [{"handoff": {"reason": "asked", "refund_id": None}}]
    assert not any(m.get("text") for m in dispatcher.messages)  # the gateway says whether it queued
    kinds = [(e["event"], e.get("name"), e.get("value")) for e in events]
    assert ("active_loop", None, None) in kinds and ("slot", "requested_slot", None) in kinds
    assert not any(e["event"] == "pause" for e in events)  # the tracker is never paused
