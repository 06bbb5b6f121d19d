"""Agent-side flows: queue, claim (one winner), reply, decide refunds, release to the bot, a supervisor's assign.

Who may do what: any agent or supervisor reads every conversation and claims a waiting one. Only the agent
holding a conversation replies in it, releases it and decides its refunds (403 `not_holder` for anyone else); a
refund whose conversation nobody holds (waiting, or back with the bot) must be claimed first, and one with no
known conversation is a supervisor's to decide. A supervisor may do all an agent may, decide any refund, and
assign a waiting or held conversation to a named agent.
"""

from __future__ import annotations

from typing import Any

from bot import audit
from bot.gateway import handoff, messages, notices, orders, transcript
from bot.gateway.chat import _conversation, deliver
from bot.gateway.context import Gateway
from bot.gateway.errors import GatewayError
from bot.gateway.live import publish_event
from bot.gateway.photos import resend_pending_photos
from bot.gateway.transcript import NewMessage
from bot.tokens import Principal
from bot.transcript.models import HOLDER_BOT, HOLDER_QUEUE

SUPERVISOR = "supervisor"


async def existing_conversation(gw: Gateway, conversation_id: str) -> dict[str, Any]:
    conv = await gw.db.run(_conversation, conversation_id)
    if conv is None:
        raise GatewayError(404, "not_found")
    return conv


async def claim(gw: Gateway, conversation_id: str, who: Principal) -> dict[str, Any]:
    """Take a waiting conversation; exactly one of several concurrent claimers wins (409 others)."""
    await existing_conversation(gw, conversation_id)
    agent_id = who.subject
    # One conditional UPDATE decides: of several concurrent claimers exactly one changes the row.
    if not await gw.db.run(handoff.sql_claim, conversation_id, agent_id, role=who.role):
        raise GatewayError(409, "not_waiting")
    await publish_event(
        gw.redis,
        gw.keys.queue_channel(),
        {"type": "claimed", "conversation_id": conversation_id, "agent_id": agent_id},
    )
    await deliver(gw, conversation_id, [NewMessage(sender="bot", text=messages.AGENT_JOINED.format(agent=agent_id))])
    return {"conversation_id": conversation_id, "holder": handoff.agent_holder(agent_id), "agent_id": agent_id}


async def require_holder(gw: Gateway, conversation_id: str, agent_id: str) -> dict[str, Any]:
    conv = await existing_conversation(gw, conversation_id)
    if await handoff.current_holder(gw, conversation_id) != handoff.agent_holder(agent_id):
        raise GatewayError(403, "not_holder")
    return conv


async def reply(gw: Gateway, conversation_id: str, who: Principal, text: str) -> list[dict[str, Any]]:
    await require_holder(gw, conversation_id, who.subject)
    text = text.strip()
    if not text:
        raise GatewayError(422, "empty_message")
    if len(text) > gw.config.max_text_chars:
        raise GatewayError(422, "text_too_long")
    return await deliver(gw, conversation_id, [NewMessage(sender="agent", author=who.subject, text=text)])


async def release(gw: Gateway, conversation_id: str, who: Principal) -> dict[str, Any]:
    """Give the conversation back to the bot, which carries on with its own tracker (context).

    Rasa's tracker was never paused (the holder in SQL alone keeps the bot out), so nothing needs resuming.
    """
    conv = await require_holder(gw, conversation_id, who.subject)
    if not await gw.db.run(handoff.sql_release, conversation_id, who.subject, role=who.role):
        raise GatewayError(403, "not_holder")
    await publish_event(gw.redis, gw.keys.queue_channel(), {"type": "released", "conversation_id": conversation_id})
    saved = await deliver(gw, conversation_id, [NewMessage(sender="bot", text=messages.AGENT_LEFT)])
    saved += await resend_pending_photos(gw, conv)
    return {"conversation_id": conversation_id, "holder": HOLDER_BOT, "messages": saved}


async def assign(gw: Gateway, conversation_id: str, who: Principal, agent_id: str) -> dict[str, Any]:
    """A supervisor hands a waiting or held conversation to a named agent (409 `not_assignable` otherwise)."""
    await existing_conversation(gw, conversation_id)
    target = handoff.agent_holder(agent_id)
    before = await gw.db.run(handoff.sql_assign, conversation_id, agent_id, by=who.subject, role=who.role)
    if before is None:
        raise GatewayError(409, "not_assignable")
    if before != target:
        await publish_event(
            gw.redis,
            gw.keys.queue_channel(),
            {"type": "assigned", "conversation_id": conversation_id, "agent_id": agent_id},
        )
        said = messages.AGENT_JOINED if before == HOLDER_QUEUE else messages.AGENT_TRANSFERRED
        await deliver(gw, conversation_id, [NewMessage(sender="bot", text=said.format(agent=agent_id))])
    return {"conversation_id": conversation_id, "holder": target, "agent_id": agent_id, "before": before}


async def decide(gw: Gateway, refund_id: str, who: Principal, *, approve: bool, reason: str) -> dict[str, Any]:
    """Approve or reject through the refund service; the shopper is told by the service's own notice
    (money back, or why not), which its outbox holds from the moment of the decision and which is told
    in their chat right now (bot/gateway/notices.py)."""
    before = await orders.get_refund(gw, refund_id)
    cid = before.get("conversation_id") or await gw.db.run(handoff.sql_conversation_of_refund, refund_id)
    if who.role != SUPERVISOR and (
        not cid or await handoff.current_holder(gw, cid) != handoff.agent_holder(who.subject)
    ):
        raise GatewayError(403, "not_holder")
    refund = await orders.decide_refund(gw, refund_id, approve=approve, agent_id=who.subject, reason=reason)
    # The decision happened in the refund service: record it now that it has answered.
    await gw.db.run(
        audit.record, role=who.role, actor=who.subject, action="approve" if approve else "reject",
        conversation_id=cid, refund_id=refund_id, before={"state": before.get("state")},
        after={"state": refund.get("state")}, detail={"reason": reason} if reason else None,
    )
    told = await notices.deliver_pending(gw, shopper_id=refund["shopper_id"])
    return {"refund": refund, "conversation_id": cid, "messages": told}


async def conversation_detail(gw: Gateway, conversation_id: str) -> dict[str, Any]:
    """What the console shows beside a transcript: holder, handoffs, order lines, refunds with risk, audit."""
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
    conv["audit"] = await gw.db.run(audit.for_conversation, conversation_id)
    return conv
