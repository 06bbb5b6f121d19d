"""Clients the actions use: the refund service (typed client) and the gateway's handoff hook."""

from __future__ import annotations

import logging
from functools import lru_cache

import httpx

from bot.refunds.client import RefundsClient
from bot.settings import get_settings
from bot.tokens import mint

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def refunds() -> RefundsClient:
    return RefundsClient.from_settings()


async def request_handoff(*, conversation_id: str, reason: str, refund_id: str | None = None) -> bool:
    """Ask the gateway to queue the conversation for an agent; False when no gateway answers.

    Without a gateway (terminal chat straight into the channel) there is nobody to hand over to,
    so the caller keeps the bot talking instead of pausing into silence.
    """
    settings = get_settings()
    body = {"conversation_id": conversation_id, "reason": reason, "refund_id": refund_id}
    headers = {"Authorization": f"Bearer {mint('service', 'actions', ttl_seconds=300)}"}
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            resp = await client.post(f"{settings.gateway_url}/internal/handoff", json=body, headers=headers)
    except httpx.HTTPError as exc:
        logger.warning("handoff for %s not delivered: gateway unreachable (%s)", conversation_id, exc)
        return False
    if resp.status_code >= 300:
        logger.warning("handoff for %s refused by gateway: %s %s", conversation_id, resp.status_code, resp.text)
        return False
    return True
