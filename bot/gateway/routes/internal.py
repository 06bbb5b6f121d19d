"""Endpoints for our own services (service token): the bot's escalation to a human."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from bot.gateway import agents, chat
from bot.gateway.deps import GatewayDep, ServiceDep
from bot.gateway.schemas import HandoffIn

router = APIRouter(prefix="/internal")


@router.post("/handoff", status_code=201)
async def handoff(body: HandoffIn, gw: GatewayDep, _: ServiceDep) -> dict[str, Any]:
    """Queue the conversation for an agent; the bot's own reply tells the shopper."""
    await agents.existing_conversation(gw, body.conversation_id)
    await chat.request_human(gw, body.conversation_id, reason=body.reason, refund_id=body.refund_id, notify=False)
    holder = await chat.handoff.current_holder(gw, body.conversation_id)
    return {"conversation_id": body.conversation_id, "holder": holder, "reason": body.reason}
