"""Agent API (docs/api.md): queue, claim, reply, refund decisions, release, live streams; a supervisor's assign."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from bot.gateway import agents, handoff, orders, transcript
from bot.gateway.deps import AgentDep, GatewayDep, ResumeDep, SupervisorDep
from bot.gateway.errors import GatewayError
from bot.gateway.live import event_stream, message_stream
from bot.gateway.routes.shopper import SSE_HEADERS
from bot.gateway.schemas import AgentMessageIn, AssignIn, DecisionIn
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


@router.get("/conversations/{cid}")
async def detail(cid: str, gw: GatewayDep, _: AgentDep) -> dict[str, Any]:
    return await agents.conversation_detail(gw, cid)


@router.get("/conversations/{cid}/messages")
async def messages(cid: str, gw: GatewayDep, _: AgentDep, after: int = 0) -> dict[str, Any]:
    await agents.existing_conversation(gw, cid)
    return {"conversation_id": cid, "messages": await gw.db.run(transcript.messages_after, cid, after)}


@router.get("/conversations/{cid}/stream")
async def stream(cid: str, gw: GatewayDep, _: AgentDep, after: ResumeDep) -> StreamingResponse:
    await agents.existing_conversation(gw, cid)

    async def backfill(last: int) -> list[dict[str, Any]]:
        return await gw.db.run(transcript.messages_after, cid, last)

    frames = message_stream(gw.redis, gw.keys.conversation_channel(cid), after, backfill, gw.config.stream_ping_seconds)
    return StreamingResponse(frames, media_type="text/event-stream", headers=SSE_HEADERS)


@router.post("/conversations/{cid}/messages/{seq}/misunderstood")
async def misunderstood(cid: str, seq: int, gw: GatewayDep, who: AgentDep) -> dict[str, Any]:
    """The bot got this shopper message wrong: file it in the trainers' NLU inbox."""
    await agents.existing_conversation(gw, cid)
    try:
        return await gw.db.run(inbox.mark_misunderstood, cid, seq, agent_id=who.subject)
    except inbox.InboxError as exc:
        raise GatewayError(exc.status, exc.code, message_en=str(exc)) from exc


@router.post("/conversations/{cid}/claim")
async def claim(cid: str, gw: GatewayDep, who: AgentDep) -> dict[str, Any]:
    return await agents.claim(gw, cid, who)


@router.post("/conversations/{cid}/messages")
async def reply(cid: str, body: AgentMessageIn, gw: GatewayDep, who: AgentDep) -> dict[str, Any]:
    return {"messages": await agents.reply(gw, cid, who, body.text)}


@router.post("/conversations/{cid}/release")
async def release(cid: str, gw: GatewayDep, who: AgentDep) -> dict[str, Any]:
    return await agents.release(gw, cid, who)


@router.post("/conversations/{cid}/assign")
async def assign(cid: str, body: AssignIn, gw: GatewayDep, who: SupervisorDep) -> dict[str, Any]:
    return await agents.assign(gw, cid, who, body.agent_id)


@router.get("/refunds/{rid}")
async def refund(rid: str, gw: GatewayDep, _: AgentDep) -> dict[str, Any]:
    return await orders.get_refund(gw, rid)


@router.post("/refunds/{rid}/approve")
async def approve(rid: str, body: DecisionIn, gw: GatewayDep, who: AgentDep) -> dict[str, Any]:
    return await agents.decide(gw, rid, who, approve=True, reason=body.reason)


@router.post("/refunds/{rid}/reject")
async def reject(rid: str, body: DecisionIn, gw: GatewayDep, who: AgentDep) -> dict[str, Any]:
    return await agents.decide(gw, rid, who, approve=False, reason=body.reason)
