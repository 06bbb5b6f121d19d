"""Shopper API (docs/api.md): conversations, messages, photos, live stream, orders."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import FileResponse, StreamingResponse

from bot.gateway import chat, orders, photos, transcript
from bot.gateway.deps import GatewayDep, OwnedConversation, RateLimited, ResumeDep, ShopperDep, ViewerDep
from bot.gateway.errors import GatewayError
from bot.gateway.live import message_stream
from bot.gateway.schemas import CID, ORDER_ID, PHOTO_ID, After, ConversationIn, LastEventId, MessageIn, StreamAfter
from bot.policy import load_policy

router = APIRouter(prefix="/api")
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@router.post("/conversations", status_code=201)
async def open_conversation(body: ConversationIn, gw: GatewayDep, who: RateLimited) -> dict[str, Any]:
    return await chat.open_conversation(gw, who.subject, body.order_id)


@router.get("/conversations")
async def my_conversations(gw: GatewayDep, who: ShopperDep) -> list[dict[str, Any]]:
    return await gw.db.run(transcript.list_conversations, who.subject)


@router.post("/conversations/{cid}/messages", dependencies=CID)
async def post_message(body: MessageIn, conv: OwnedConversation, gw: GatewayDep, _: RateLimited) -> dict[str, Any]:
    if (body.text is None) == (body.button is None):
        raise GatewayError(422, "bad_message")
    if body.button is not None:
        return {"messages": await chat.send_button(gw, conv, body.button)}
    return {"messages": await chat.send_text(gw, conv, body.text or "")}


@router.get("/conversations/{cid}/messages", dependencies=CID)
async def get_messages(conv: OwnedConversation, gw: GatewayDep, after: After = 0) -> dict[str, Any]:
    return {
        "conversation_id": conv["conversation_id"],
        "messages": await gw.db.run(transcript.messages_after, conv["conversation_id"], after),
    }


@router.post("/conversations/{cid}/photos", status_code=201, dependencies=CID)
async def post_photo(
    conv: OwnedConversation,
    gw: GatewayDep,
    _: RateLimited,
    file: Annotated[UploadFile | None, File()] = None,
    kind: Annotated[str, Form()] = "",
) -> dict[str, Any]:
    photos.check_kind(kind)
    if file is None:
        raise GatewayError(422, "no_file")
    data = await photos.read_upload(file, int(load_policy()["photos"]["max_bytes"]))
    return await photos.upload_photo(gw, conv, data=data, kind=kind)


@router.post("/conversations/{cid}/handoff", dependencies=CID)
async def ask_for_human(conv: OwnedConversation, gw: GatewayDep, _: RateLimited) -> dict[str, Any]:
    return {"messages": await chat.ask_for_human(gw, conv)}


@router.get("/conversations/{cid}/stream", dependencies=CID)
async def stream(
    conv: OwnedConversation, gw: GatewayDep, after: ResumeDep, _after: StreamAfter = None, _last: LastEventId = None
) -> StreamingResponse:
    cid = conv["conversation_id"]

    async def backfill(last: int) -> list[dict[str, Any]]:
        return await gw.db.run(transcript.messages_after, cid, last)

    frames = message_stream(gw.redis, gw.keys.conversation_channel(cid), after, backfill, gw.config.stream_ping_seconds)
    return StreamingResponse(frames, media_type="text/event-stream", headers=SSE_HEADERS)


@router.get("/orders")
async def my_orders(gw: GatewayDep, who: ShopperDep) -> list[dict[str, Any]]:
    return await orders.shopper_orders(gw, who.subject)


@router.get("/orders/{order_id}", dependencies=ORDER_ID)
async def my_order(order_id: str, gw: GatewayDep, who: ShopperDep) -> dict[str, Any]:
    return await orders.owned_order(gw, order_id, who.subject)


@router.get("/refunds")
async def my_refunds(gw: GatewayDep, who: ShopperDep) -> list[dict[str, Any]]:
    return await orders.shopper_refunds(gw, who.subject)


@router.get("/photos/{photo_id}", dependencies=PHOTO_ID)
async def get_photo(photo_id: str, gw: GatewayDep, who: ViewerDep) -> FileResponse:
    path, content_type = await photos.photo_for(gw, photo_id, who)
    return FileResponse(path, media_type=content_type, headers={"Cache-Control": "private, max-age=3600"})
