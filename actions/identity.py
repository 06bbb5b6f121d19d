"""Who the conversation belongs to, as the trusted channel fixed it in the sender id."""

from __future__ import annotations

from rasa_sdk import Tracker


class UnknownShopper(Exception):
    """The sender id was not made by the trusted channel (e.g. `rasa shell`)."""


def shopper_of(tracker: Tracker) -> str:
    """The authenticated shopper; sender ids are "{shopper_id}:{conversation_id}"."""
    shopper, sep, _ = tracker.sender_id.partition(":")
    if not sep or not shopper:
        raise UnknownShopper(tracker.sender_id)
    return shopper


def conversation_of(tracker: Tracker) -> str:
    return tracker.sender_id.partition(":")[2] or tracker.sender_id
