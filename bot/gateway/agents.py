"""Agent-side flows: queue, claim (one winner), reply, decide refunds, release to the bot."""

from __future__ import annotations

from typing import Any

from bot.gateway import handoff, messages, orders, transcript
from bot.gateway.chat import _conversation, deliver
from bot.gateway.context import Gateway
from bot.gateway.errors import GatewayError
from bot.gateway.live import publish_event
from bot.gateway.models import HOLDER_BOT, HOLDER_QUEUE
from bot.gateway.photos import resend_pending_photos
from bot.gateway.transcript import NewMessage
from bot.rasa_api import resume_bot


async def existing_conversation(gw: Gateway, conversation_id: str) -> dict[str, Any]:
    conv = await gw.db.run(_conversation, conversation_id)
    if conv is None:
        raise GatewayError(404, "not_found")
    return conv


async def claim(gw: Gateway, conversation_id: str, agent_id: str) -> dict[str, Any]:
    """Take a waiting conversation; exactly one of several concurrent claimers wins (409 others)."""
    await existing_conversation(gw, conversation_id)
    mine = handoff.agent_holder(agent_id)
    await handoff.current_holder(gw, conversation_id)  # make sure Redis has the holder
    if not await handoff.cas_holder(gw, conversation_id, HOLDER_QUEUE, mine):
        raise GatewayError(409, "not_waiting")
    try:
        won = await gw.db.run(handoff.sql_claim, conversation_id, agent_id)
    except BaseException:
        await handoff.cas_holder(gw, conversation_id, mine, HOLDER_QUEUE)
        raise
    if not won:  # Redis was stale; SQL has the final word
        await handoff.set_holder(gw, conversation_id, await gw.db.run(handoff.sql_holder, conversation_id))
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
    """Give the conversation back to the bot, which carries on with its own tracker (context)."""
    conv = await require_holder(gw, conversation_id, agent_id)
    if not await gw.db.run(handoff.sql_release, conversation_id, agent_id):
        raise GatewayError(409, "not_holder")
    await handoff.set_holder(gw, conversation_id, HOLDER_BOT)
    # the bot's handoff action paused its tracker; it must listen again before it is asked anything
    await resume_bot(gw.http, shopper_id=conv["shopper_id"], conversation_id=conversation_id)
    await publish_event(gw.redis, gw.keys.queue_channel(), {"type": "released", "conversation_id": conversation_id})
    saved = await deliver(gw, conversation_id, [NewMessage(sender="bot", text=messages.AGENT_LEFT)])
    saved += await resend_pending_photos(gw, conv)
    return {"conversation_id": conversation_id, "holder": HOLDER_BOT, "messages": saved}


async def decide(gw: Gateway, refund_id: str, agent_id: str, *, approve: bool, reason: str) -> dict[str, Any]:
    """Approve or reject through the refund service, then tell the shopper in their chat."""
    refund = await orders.decide_refund(gw, refund_id, approve=approve, agent_id=agent_id, reason=reason)
    cid = refund.get("conversation_id") or await gw.db.run(handoff.sql_conversation_of_refund, refund_id)
    told: list[dict[str, Any]] = []
    if cid and await gw.db.run(_conversation, cid):
        if approve:
            text = messages.REFUND_APPROVED.format(amount=f"{refund['amount_cents'] / 100:.2f}")
        else:
            text = messages.REFUND_REJECTED.format(reason=reason or messages.REFUND_REJECTED_NO_REASON)
        told = await deliver(gw, cid, [NewMessage(sender="agent", author=agent_id, text=text)])
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
