"""Shopper-side flows: open a conversation, send text, buttons and photos, ask for a human."""

from __future__ import annotations

import logging
from typing import Any

from bot.gateway import handoff, messages, orders, transcript
from bot.gateway.context import Gateway
from bot.gateway.errors import GatewayError
from bot.gateway.live import publish_event, publish_messages
from bot.gateway.models import HOLDER_BOT
from bot.gateway.rasa import BotAnswer, BotUnavailable
from bot.gateway.transcript import NewMessage
from bot.trainer import inbox

log = logging.getLogger(__name__)
PHOTO_KINDS = ("package", "label", "items")


async def deliver(gw: Gateway, conversation_id: str, items: list[NewMessage]) -> list[dict[str, Any]]:
    """Persist messages (SQL first, so nothing is lost) and then announce them live."""
    saved = await gw.db.run(transcript.append_messages, conversation_id, items)
    await publish_messages(gw.redis, gw.keys.conversation_channel(conversation_id), saved)
    return saved


def bot_messages(answer: BotAnswer) -> list[NewMessage]:
    """The bot's replies as transcript messages (replies with neither text nor buttons are dropped)."""
    return [NewMessage(sender="bot", text=r.text, buttons=r.buttons) for r in answer.replies if r.text or r.buttons]


async def ask_bot(
    gw: Gateway, conv: dict[str, Any], event: str, *, about_seq: int | None = None, **fields: Any
) -> list[dict[str, Any]]:
    """Forward one event to Rasa and persist its replies as bot messages.

    For a shopper's text (`about_seq` is its message), what the model understood is kept with it,
    and a poor parse is filed in the trainers' NLU inbox.
    """
    nlu = None
    try:
        answer = await gw.bot.send(
            shopper_id=conv["shopper_id"], conversation_id=conv["conversation_id"], event=event, **fields
        )
        items = bot_messages(answer)
        nlu = answer.nlu
    except BotUnavailable as exc:
        log.warning("bot unavailable for %s: %s", conv["conversation_id"], exc)
        items = [NewMessage(sender="bot", text=messages.BOT_UNAVAILABLE)]
    saved = await deliver(gw, conv["conversation_id"], items)
    if nlu is not None and about_seq is not None:
        await _file_understanding(gw, conv["conversation_id"], about_seq, nlu)
    return saved


async def _file_understanding(gw: Gateway, conversation_id: str, seq: int, nlu: dict[str, Any]) -> None:
    """After the replies are safe: the inbox is for trainers and must never cost a shopper an answer."""
    try:
        await gw.db.run(inbox.record_understanding, conversation_id, seq, nlu, threshold=gw.config.inbox_below)
    except Exception:
        log.exception("could not file the parse of %s #%s in the NLU inbox", conversation_id, seq)


async def owned_conversation(gw: Gateway, conversation_id: str, shopper_id: str) -> dict[str, Any]:
    """The conversation if it is this shopper's: 404 unknown, 403 someone else's."""
    conv = await gw.db.run(_conversation, conversation_id)
    if conv is None:
        raise GatewayError(404, "not_found")
    if conv["shopper_id"] != shopper_id:
        raise GatewayError(403, "forbidden")
    return conv


def _conversation(session: Any, conversation_id: str) -> dict[str, Any] | None:
    conv = transcript.get_conversation(session, conversation_id)
    return transcript.conversation_dict(conv) if conv else None


async def open_conversation(gw: Gateway, shopper_id: str, order_id: str | None) -> dict[str, Any]:
    """Create a conversation (order ownership checked with the refund service) and greet."""
    if order_id:
        await orders.owned_order(gw, order_id, shopper_id)
    conv = await gw.db.run(
        lambda s: transcript.conversation_dict(
            transcript.create_conversation(s, shopper_id=shopper_id, order_id=order_id)
        )
    )
    await handoff.set_holder(gw, conv["conversation_id"], HOLDER_BOT)
    greeting = await ask_bot(gw, conv, "start", order_id=order_id)
    return {"conversation_id": conv["conversation_id"], "order_id": order_id, "messages": greeting}


def clean_text(gw: Gateway, text: str) -> str:
    text = text.strip()
    if not text:
        raise GatewayError(422, "empty_message")
    if len(text) > gw.config.max_text_chars:
        raise GatewayError(422, "text_too_long")
    return text


async def send_text(gw: Gateway, conv: dict[str, Any], text: str) -> list[dict[str, Any]]:
    text = clean_text(gw, text)
    holder = await handoff.current_holder(gw, conv["conversation_id"])
    if holder == HOLDER_BOT and text in messages.HUMAN_REQUESTS:
        saved = await deliver(gw, conv["conversation_id"], [NewMessage(sender="shopper", text=text)])
        return saved + await request_human(gw, conv["conversation_id"], reason="asked")
    saved = await deliver(gw, conv["conversation_id"], [NewMessage(sender="shopper", text=text)])
    if holder != HOLDER_BOT:
        return saved  # an agent (or the queue) has the conversation: the bot stays silent
    return saved + await ask_bot(gw, conv, "text", about_seq=saved[-1]["seq"], text=text)


async def send_button(gw: Gateway, conv: dict[str, Any], payload: str) -> list[dict[str, Any]]:
    """Accept a button only if the bot offered its payload earlier in this conversation."""
    button = await gw.db.run(transcript.offered_button, conv["conversation_id"], payload)
    if button is None:
        raise GatewayError(422, "button_not_offered")
    holder = await handoff.current_holder(gw, conv["conversation_id"])
    shopper_msg = NewMessage(sender="shopper", text=button["title"], payload=payload)
    if holder != HOLDER_BOT:
        return await deliver(gw, conv["conversation_id"], [shopper_msg])
    # Ask the bot first: if it refuses the payload, nothing is recorded.
    try:
        answer = await gw.bot.send(
            shopper_id=conv["shopper_id"],
            conversation_id=conv["conversation_id"],
            event="button",
            payload=payload,
        )
        bot_items = bot_messages(answer)
    except BotUnavailable:
        bot_items = [NewMessage(sender="bot", text=messages.BOT_UNAVAILABLE)]
    return await deliver(gw, conv["conversation_id"], [shopper_msg, *bot_items])


async def request_human(
    gw: Gateway, conversation_id: str, *, reason: str, refund_id: str | None = None, notify: bool = True
) -> list[dict[str, Any]]:
    """Put the conversation in the agent queue (idempotent); tell the shopper when it is new."""
    item, created = await gw.db.run(handoff.sql_enqueue, conversation_id, reason=reason, refund_id=refund_id)
    holder = await gw.db.run(handoff.sql_holder, conversation_id)
    await handoff.set_holder(gw, conversation_id, holder)
    if created:
        await publish_event(gw.redis, gw.keys.queue_channel(), {"type": "enqueued", **item})
    if not notify:
        return []
    text = messages.HANDOFF_WAITING if created else messages.HANDOFF_ALREADY
    return await deliver(gw, conversation_id, [NewMessage(sender="bot", text=text)])
