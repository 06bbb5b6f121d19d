"""Photo upload (through the evidence store) and serving to the owner and to agents only.

A photo sent while the bot does not hold the chat (queued, or an agent has it) is kept owed to the bot
(`messages.bot_pending`) until Rasa has answered it: handed over at release, and again before the shopper's next text
or photo if Rasa could not be reached then (`resend_pending_photos`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bot import metrics
from bot.evidence import store as evidence
from bot.gateway import chat, handoff, messages, transcript
from bot.gateway.context import Gateway
from bot.gateway.errors import GatewayError
from bot.gateway.live import publish_messages
from bot.gateway.transcript import NewMessage
from bot.rasa_protocol import PHOTO_KINDS
from bot.tokens import Principal
from bot.transcript.models import HOLDER_BOT

log = logging.getLogger(__name__)


def check_kind(kind: str) -> str:
    if kind not in PHOTO_KINDS:
        metrics.PHOTO_REJECTIONS.labels("bad_kind").inc()
        raise GatewayError(422, "bad_kind")
    return kind


def _store_and_record(
    session: Session, *, data: bytes, kind: str, conv: dict[str, Any], pending: bool
) -> tuple[str, list[dict[str, Any]]]:
    """Store the photo and its chat message in one transaction: both or neither."""
    try:
        photo = evidence.store_photo(
            session,
            data=data,
            kind=kind,
            shopper_id=conv["shopper_id"],
            conversation_id=conv["conversation_id"],
        )
    except evidence.PhotoRejected as exc:
        metrics.PHOTO_REJECTIONS.labels(exc.code).inc()
        raise GatewayError(exc.status, exc.code, exc.message_zh, exc.message_en) from exc
    text = messages.PHOTO_SENT.format(kind=messages.PHOTO_KIND_ZH[kind])
    item = NewMessage(sender="shopper", text=text, photo_id=photo.id, photo_kind=kind, bot_pending=pending)
    return photo.id, transcript.append_messages(session, conv["conversation_id"], [item])


async def upload_photo(gw: Gateway, conv: dict[str, Any], *, data: bytes, kind: str) -> dict[str, Any]:
    """Validate and keep the photo, then (if the bot holds the chat) fill the bot's evidence slot."""
    check_kind(kind)
    cid = conv["conversation_id"]
    holder = await handoff.current_holder(gw, cid)
    # owed to the bot until Rasa has answered it, whoever holds the chat now
    photo_id, saved = await gw.db.run(_store_and_record, data=data, kind=kind, conv=conv, pending=True)
    await publish_messages(gw.redis, gw.keys.conversation_channel(cid), saved)
    if holder == HOLDER_BOT:
        answered, complete = await _hand_over_owed(gw, conv)  # any it missed before, then this one
        saved = saved + answered
        if not complete:  # Rasa is down: say so; the photo stays owed and goes first once it answers
            saved = saved + await chat.ask_bot_unavailable(gw, conv)
    return {"photo_id": photo_id, "messages": saved}


async def resend_pending_photos(gw: Gateway, conv: dict[str, Any]) -> list[dict[str, Any]]:
    """Hand the bot, in order, the photos it has not had (sent while an agent held the chat); their answers.

    Called at release and, while the bot holds the chat, before the shopper's next text or photo. A photo is taken
    (pending 1 → 0) before it is sent, so two requests never both send it, and given back when Rasa could not be
    reached: it is owed until Rasa has answered it. When Rasa is down nothing is said here (the shopper's own
    message, if any, gets the bot-down answer)."""
    return (await _hand_over_owed(gw, conv))[0]


async def _hand_over_owed(gw: Gateway, conv: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """`resend_pending_photos`, and whether every owed photo reached the bot (False: Rasa could not be reached)."""
    cid = conv["conversation_id"]
    out: list[dict[str, Any]] = []
    for item in await gw.db.run(transcript.pending_photos, cid):
        if not item["photo_id"] or not item["photo_kind"]:
            await gw.db.run(transcript.move_pending, item["id"], 1, 0)  # nothing the bot could take
            continue
        if not await gw.db.run(transcript.move_pending, item["id"], 1, 0):
            continue  # another request is handing it over
        try:
            answer = await chat._answer(gw, conv, "photo", photo_id=item["photo_id"], photo_kind=item["photo_kind"])
        except GatewayError as exc:  # the channel refused it for good: nothing to hand over
            log.warning("the bot refused owed photo %s of %s: %s", item["photo_id"], cid, exc.code)
            continue
        if answer is None:
            await gw.db.run(transcript.move_pending, item["id"], 0, 1)
            return out, False
        out += await chat._record(gw, conv, answer)
    return out, True


def _photo_file(session: Session, photo_id: str) -> tuple[str, Path, str] | None:
    photo = evidence.get_photo(session, photo_id)
    if photo is None:
        return None
    return photo.shopper_id, evidence.photo_path(photo), photo.content_type or "image/jpeg"


async def photo_for(gw: Gateway, photo_id: str, who: Principal) -> tuple[Path, str]:
    """The stored file of a photo, for its owner or any agent; 404 for everyone else."""
    found = await gw.db.run(_photo_file, photo_id)
    # 404 (not 403) for someone else's photo: photo ids are not to be probed.
    if found is None or (who.role == "shopper" and found[0] != who.subject):
        raise GatewayError(404, "photo_not_found")
    _owner, path, content_type = found
    if not path.is_file():
        raise GatewayError(404, "photo_not_found")
    return path, content_type


async def read_upload(upload: Any, max_bytes: int) -> bytes:
    """Read at most max_bytes (+1 to detect more) so a huge body is refused without being kept."""
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        metrics.PHOTO_REJECTIONS.labels("too_large").inc()
        raise GatewayError(413, "too_large")
    return bytes(data)
