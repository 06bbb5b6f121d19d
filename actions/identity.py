"""Who the conversation belongs to, as the trusted channel fixed it in the sender id."""

from __future__ import annotations

from rasa_sdk import Tracker

from bot.rasa_protocol import parse_sender_id


class UnknownShopper(Exception):
    """The sender id was not made by the trusted channel (e.g. `rasa shell`)."""


def shopper_of(tracker: Tracker) -> str:
    """The authenticated shopper (bot.rasa_protocol.sender_id made the tracker id)."""
    parsed = parse_sender_id(tracker.sender_id)
    if parsed is None:
        raise UnknownShopper(tracker.sender_id)
    return parsed[0]


def conversation_of(tracker: Tracker) -> str:
    parsed = parse_sender_id(tracker.sender_id)
    return parsed[1] if parsed else tracker.sender_id
