"""Agent API (docs/api.md): queue, claim, reply, refund decisions, release, live streams; a supervisor's assign."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from bot.gateway import agents, handoff, orders, transcript
from bot.gateway.deps import AgentDep, GatewayDep, ResumeDep, SupervisorDep
from bot.gateway.errors import GatewayError
from bot.gateway.live import event_stream, message_stream
from bot.gateway.routes.ops import conversation_alerts
from bot.gateway.routes.shopper import SSE_HEADERS
from bot.gateway.schemas import (
    CID,
    RID,
    After,
    AgentMessageIn,
    AssignIn,
    DecisionIn,
    LastEventId,
    Seq,
    StreamAfter,
)
from bot.trainer import inbox

router = APIRouter(prefix="/api/agent")


@router.get("/queue")
async def queue(gw: GatewayDep, _: AgentDep) -> list[dict[str, Any]]:
    return await gw.db.run(handoff.sql_queue)


@router.get("/mine")
async def mine(gw: GatewayDep, who: AgentDep) -> list[dict[str, Any]]:
    return await gw.db.run(handoff.sql_mine, who.subject)


@router.get("/me")
async def me(who: AgentDep) -> dict[str, str]:
    return {"agent_id": who.subject, "role": who.role}


@router.get("/stream")
async def queue_stream(gw: GatewayDep, _: AgentDep) -> StreamingResponse:
    frames = event_stream(gw.redis, gw.keys.queue_channel(), gw.config.stream_ping_seconds)
    return StreamingResponse(frames, media_type="text/event-stream", headers=SSE_HEADERS)


@router.get("/conversations/{cid}", dependencies=CID)
async def detail(cid: str, gw: GatewayDep, _: AgentDep) -> dict[str, Any]:
    """What the console shows beside a transcript: holder, handoffs, order lines, refunds with risk, audit, and the
    standing systemic-issue alerts about the conversation's goods."""
    conv = await agents.conversation_detail(gw, cid)
    conv["alerts"] = await conversation_alerts(gw, conv)  # systemic issues with this conversation's goods
    return conv


@router.get("/conversations/{cid}/messages", dependencies=CID)
async def messages(cid: str, gw: GatewayDep, _: AgentDep, after: After = 0) -> dict[str, Any]:
    await agents.existing_conversation(gw, cid)
    return {"conversation_id": cid, "messages": await gw.db.run(transcript.messages_after, cid, after)}


@router.get("/conversations/{cid}/stream", dependencies=CID)
async def stream(
    cid: str, gw: GatewayDep, _: AgentDep, after: ResumeDep, _after: StreamAfter = None, _last: LastEventId = None
) -> StreamingResponse:
    await agents.existing_conversation(gw, cid)

    async def backfill(last: int) -> list[dict[str, Any]]:
        return await gw.db.run(transcript.messages_after, cid, last)

    frames = message_stream(gw.redis, gw.keys.conversation_channel(cid), after, backfill, gw.config.stream_ping_seconds)
    return StreamingResponse(frames, media_type="text/event-stream", headers=SSE_HEADERS)


@router.post("/conversations/{cid}/messages/{seq}/misunderstood", dependencies=CID)
async def misunderstood(cid: str, seq: Seq, gw: GatewayDep, who: AgentDep) -> dict[str, Any]:
    """The bot got this shopper message wrong: file it in the trainers' NLU inbox."""
    await agents.existing_conversation(gw, cid)
    try:
        return await gw.db.run(inbox.mark_misunderstood, cid, seq, agent_id=who.subject)
    except inbox.InboxError as exc:
        raise GatewayError(exc.status, exc.code, message_en=str(exc)) from exc


@router.post("/conversations/{cid}/claim", dependencies=CID)
async def claim(cid: str, gw: GatewayDep, who: AgentDep) -> dict[str, Any]:
    return await agents.claim(gw, cid, who)


@router.post("/conversations/{cid}/messages", dependencies=CID)
async def reply(cid: str, body: AgentMessageIn, gw: GatewayDep, who: AgentDep) -> dict[str, Any]:
    return {"messages": await agents.reply(gw, cid, who, body.text)}


@router.post("/conversations/{cid}/release", dependencies=CID)
async def release(cid: str, gw: GatewayDep, who: AgentDep) -> dict[str, Any]:
    return await agents.release(gw, cid, who)


@router.post("/conversations/{cid}/assign", dependencies=CID)
async def assign(cid: str, body: AssignIn, gw: GatewayDep, who: SupervisorDep) -> dict[str, Any]:
    return await agents.assign(gw, cid, who, body.agent_id)


@router.get("/refunds/{rid}", dependencies=RID)
async def refund(rid: str, gw: GatewayDep, _: AgentDep) -> dict[str, Any]:
    return await orders.get_refund(gw, rid)


@router.post("/refunds/{rid}/approve", dependencies=RID)
async def approve(rid: str, body: DecisionIn, gw: GatewayDep, who: AgentDep) -> dict[str, Any]:
    return await agents.decide(gw, rid, who, approve=True, reason=body.reason)


@router.post("/refunds/{rid}/reject", dependencies=RID)
async def reject(rid: str, body: DecisionIn, gw: GatewayDep, who: AgentDep) -> dict[str, Any]:
    return await agents.decide(gw, rid, who, approve=False, reason=body.reason)
