"""Rasa's own HTTP API (token-protected), for what the trusted channel cannot do: resuming a paused bot."""

from __future__ import annotations

import logging
from urllib.parse import quote

import httpx

from bot.settings import get_settings

log = logging.getLogger(__name__)


def sender_id(shopper_id: str, conversation_id: str) -> str:
    """The tracker id the trusted channel uses for a conversation."""
    return f"{shopper_id}:{conversation_id}"


async def resume_bot(http: httpx.AsyncClient, *, shopper_id: str, conversation_id: str) -> bool:
    """Append a `resume` event, so the bot answers again after a human handed the chat back.

    The handoff action pauses the tracker (ConversationPaused) as a second guard beside the
    gateway's routing; without this the bot would stay silent after release.
    """
    settings = get_settings()
    url = f"{settings.rasa_url}/conversations/{quote(sender_id(shopper_id, conversation_id))}/tracker/events"
    try:
        resp = await http.post(url, params={"token": settings.rasa_api_token}, json={"event": "resume"},
                               timeout=10)
    except httpx.HTTPError as exc:
        log.warning("could not resume the bot for %s: %s", conversation_id, exc)
        return False
    if resp.status_code >= 300:
        log.warning("rasa refused to resume %s: %s %s", conversation_id, resp.status_code, resp.text[:200])
        return False
    return True
