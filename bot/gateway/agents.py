"""Agent-side flows: queue, claim (one winner), reply, decide refunds, release to the bot."""

from __future__ import annotations

from typing import Any

from bot.gateway import handoff, messages, notices, orders, transcript
from bot.gateway.chat import _conversation, deliver
from bot.gateway.context import Gateway
from bot.gateway.errors import GatewayError
from bot.gateway.live import publish_event
from bot.gateway.photos import resend_pending_photos
from bot.gateway.transcript import NewMessage
from bot.transcript.models import HOLDER_BOT


async def existing_conversation(gw: Gateway, conversation_id: str) -> dict[str, Any]:
    conv = await gw.db.run(_conversation, conversation_id)
    if conv is None:
        raise GatewayError(404, "not_found")
    return conv


async def claim(gw: Gateway, conversation_id: str, agent_id: str) -> dict[str, Any]:
    """Take a waiting conversation; exactly one of several concurrent claimers wins (409 others)."""
    await existing_conversation(gw, conversation_id)
    mine = handoff.agent_holder(agent_id)
    # One conditional UPDATE decides: of several concurrent claimers exactly one changes the row.
    if not await gw.db.run(handoff.sql_claim, conversation_id, agent_id):
        raise GatewayError(409, "not_waiting")
    await publish_event(
        gw.redis,
        gw.keys.queue_channel(),
        {"type": "claimed", "conversation_id": conversation_id, "agent_id": agent_id},
    )
    await deliver(gw, conversation_id, [NewMessage(sender="bot", text=messages.AGENT_JOINED.format(agent=agent_id))])
    return {"conversation_id": conversation_id, "holder": mine, "agent_id": agent_id}


async def require_holder(gw: Gateway, conversation_id: str, agent_id: str) -> dict[str, Any]:
    conv = await existing_conversation(gw, conversation_id)
    if await handoff.current_holder(gw, conversation_id) != handoff.agent_holder(agent_id):
        raise GatewayError(409, "not_holder")
    return conv


async def reply(gw: Gateway, conversation_id: str, agent_id: str, text: str) -> list[dict[str, Any]]:
    await require_holder(gw, conversation_id, agent_id)
    text = text.strip()
    if not text:
        raise GatewayError(422, "empty_message")
    if len(text) > gw.config.max_text_chars:
        raise GatewayError(422, "text_too_long")
    return await deliver(gw, conversation_id, [NewMessage(sender="agent", author=agent_id, text=text)])


async def release(gw: Gateway, conversation_id: str, agent_id: str) -> dict[str, Any]:
    """Give the conversation back to the bot, which carries on with its own tracker (context).

    Rasa's tracker was never paused (the holder in SQL alone keeps the bot out), so nothing needs resuming.
    """
    conv = await require_holder(gw, conversation_id, agent_id)
    if not await gw.db.run(handoff.sql_release, conversation_id, agent_id):
        raise GatewayError(409, "not_holder")
    await publish_event(gw.redis, gw.keys.queue_channel(), {"type": "released", "conversation_id": conversation_id})
    saved = await deliver(gw, conversation_id, [NewMessage(sender="bot", text=messages.AGENT_LEFT)])
    saved += await resend_pending_photos(gw, conv)
    return {"conversation_id": conversation_id, "holder": HOLDER_BOT, "messages": saved}


async def decide(gw: Gateway, refund_id: str, agent_id: str, *, approve: bool, reason: str) -> dict[str, Any]:
    """Approve or reject through the refund service; the shopper is told by the service's own notice
    (money back, or why not), which its outbox holds from the moment of the decision and which is told
    in their chat right now (bot/gateway/notices.py)."""
    refund = await orders.decide_refund(gw, refund_id, approve=approve, agent_id=agent_id, reason=reason)
    cid = refund.get("conversation_id") or await gw.db.run(handoff.sql_conversation_of_refund, refund_id)
    told = await notices.deliver_pending(gw, shopper_id=refund["shopper_id"])
    return {"refund": refund, "conversation_id": cid, "messages": told}


async def conversation_detail(gw: Gateway, conversation_id: str) -> dict[str, Any]:
    """What the console shows beside a transcript: holder, handoffs, order lines, refunds with risk."""
    conv = await existing_conversation(gw, conversation_id)
    conv["holder"] = await handoff.current_holder(gw, conversation_id)
    conv["handoffs"] = await gw.db.run(handoff.sql_handoffs, conversation_id)
    conv["order"] = await orders.get_order(gw, conv["order_id"]) if conv["order_id"] else None
    refunds = await orders.shopper_refunds(gw, conv["shopper_id"])
    linked = {h["refund_id"] for h in conv["handoffs"] if h["refund_id"]}
    conv["refunds"] = [
        r
        for r in refunds
        if r.get("conversation_id") == conversation_id
        or r.get("refund_id") in linked
        or (conv["order_id"] and r.get("order_id") == conv["order_id"])
    ]
    conv["messages"] = await gw.db.run(transcript.messages_after, conversation_id, 0)
    return conv
