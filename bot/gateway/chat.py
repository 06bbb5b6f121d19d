"""Shopper-side flows: open a conversation, send text, buttons and photos, ask for a human."""

from __future__ import annotations

import logging
from typing import Any

from bot import metrics
from bot.gateway import handoff, messages, notices, orders, transcript
from bot.gateway.context import Gateway
from bot.gateway.errors import GatewayError
from bot.gateway.live import publish_event, publish_messages
from bot.gateway.transcript import NewMessage
from bot.rasa_protocol import BotAnswer, BotUnavailable, ChannelRefused
from bot.trainer import inbox
from bot.transcript.models import HOLDER_BOT

log = logging.getLogger(__name__)


async def deliver(gw: Gateway, conversation_id: str, items: list[NewMessage]) -> list[dict[str, Any]]:
    """Persist messages (SQL first, so nothing is lost) and then announce them live."""
    saved = await gw.db.run(transcript.append_messages, conversation_id, items)
    await publish_messages(gw.redis, gw.keys.conversation_channel(conversation_id), saved)
    return saved


def bot_messages(answer: BotAnswer) -> list[NewMessage]:
    """The bot's replies as transcript messages (replies with neither text nor buttons are dropped)."""
    return [NewMessage(sender="bot", text=r.text, buttons=r.buttons) for r in answer.replies if r.text or r.buttons]


@metrics.timed_bot_answer  # turns, the wait for Rasa, parses that fell back
async def _answer(gw: Gateway, conv: dict[str, Any], event: str, **fields: Any) -> BotAnswer | None:
    """The bot's answer to one event; None when Rasa is down (the caller says so to the shopper)."""
    try:
        return await gw.bot.send(
            shopper_id=conv["shopper_id"], conversation_id=conv["conversation_id"], event=event, **fields
        )
    except ChannelRefused as exc:
        raise GatewayError(422, exc.code) from exc
    except BotUnavailable as exc:
        log.warning("bot unavailable for %s: %s", conv["conversation_id"], exc)
        return None


async def ask_bot(
    gw: Gateway, conv: dict[str, Any], event: str, *, about_seq: int | None = None, **fields: Any
) -> list[dict[str, Any]]:
    """Forward one event to Rasa and persist its replies as bot messages (see `_record`)."""
    answer = await _answer(gw, conv, event, **fields)
    return await _record(gw, conv, answer, about_seq=about_seq)


async def ask_bot_unavailable(gw: Gateway, conv: dict[str, Any]) -> list[dict[str, Any]]:
    """What the shopper is told when Rasa could not be reached (see `_record`)."""
    return await _record(gw, conv, None)


async def _record(
    gw: Gateway,
    conv: dict[str, Any],
    answer: BotAnswer | None,
    *,
    before: list[NewMessage] | None = None,
    about_seq: int | None = None,
) -> list[dict[str, Any]]:
    """Persist the bot's answer (after `before`, in one write) and act on it.

    For a shopper's text (`about_seq` is its message), what the model understood is kept with it, and a
    poor parse is filed in the trainers' NLU inbox. Money an action moved is told from the outbox right
    after the replies. When the bot asks for an agent (its handoff action), the conversation is queued
    here: that is the only way into the queue.
    """
    cid = conv["conversation_id"]
    items = list(before or [])
    replies = bot_messages(answer) if answer else []
    if not replies and not (answer and answer.handoff):
        if answer is not None:
            # Rasa answered with nothing: a custom action failed (the action server down or crashing) and Rasa went
            # on without its events. Silence would leave the shopper waiting: say what Rasa being down says.
            log.warning("the bot answered %s with nothing (a custom action failed?)", cid)
        replies = [NewMessage(sender="bot", text=messages.BOT_UNAVAILABLE)]
    items += replies
    saved = await deliver(gw, cid, items)
    if answer is None:
        return saved
    if answer.nlu is not None and about_seq is not None:
        await _file_understanding(gw, cid, about_seq, answer.nlu)
    saved += await notices.deliver_pending(gw, conversation_id=cid)
    if answer.handoff:
        saved += await request_human(gw, cid, reason=answer.handoff.reason, refund_id=answer.handoff.refund_id)
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
    if order_id:  # the refund service finds the shopper's order in any case; keep its id as the feed gave it
        order_id = (await orders.owned_order(gw, order_id, shopper_id))["order_id"]
    conv = await gw.db.run(
        lambda s: transcript.conversation_dict(
            transcript.create_conversation(s, shopper_id=shopper_id, order_id=order_id)
        )
    )
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
    cid = conv["conversation_id"]
    saved = await deliver(gw, cid, [NewMessage(sender="shopper", text=text)])
    if await handoff.current_holder(gw, cid) != HOLDER_BOT:
        return saved  # an agent (or the queue) has the conversation: the bot stays silent
    from bot.gateway.photos import resend_pending_photos  # photos imports this module

    owed = await resend_pending_photos(gw, conv)  # photos the bot missed (Rasa was down at release) go first
    if text in messages.HUMAN_REQUESTS:  # unmistakable: the bot's handoff rule, without asking the NLU
        return saved + owed + await ask_for_human(gw, conv)
    return saved + owed + await ask_bot(gw, conv, "text", about_seq=saved[-1]["seq"], text=text)


async def send_button(gw: Gateway, conv: dict[str, Any], payload: str) -> list[dict[str, Any]]:
    """A click on a bot button: the trusted channel checks the bot offered it in this conversation.

    Nothing is recorded unless the bot accepted the click (then the shopper's click, with the button's
    title, and the bot's replies are written together). While an agent holds the chat the bot's buttons
    mean nothing, so the shopper is asked to type instead.
    """
    cid = conv["conversation_id"]
    if await handoff.current_holder(gw, cid) != HOLDER_BOT:
        raise GatewayError(409, "agent_has_conversation")
    answer = await _answer(gw, conv, "button", payload=payload)
    if answer is None:  # nothing recorded of the click: the bot could not check it
        return await deliver(gw, cid, [NewMessage(sender="bot", text=messages.BOT_UNAVAILABLE)])
    clicked = NewMessage(sender="shopper", text=answer.button_title or payload, payload=payload)
    return await _record(gw, conv, answer, before=[clicked])


async def ask_for_human(gw: Gateway, conv: dict[str, Any]) -> list[dict[str, Any]]:
    """The shopper wants a person (typed 转人工 or the 转人工 button).

    The bot handles it as it handles the request_human intent (it leaves any open form and asks for an
    agent); the queue is entered directly only when the bot is down or someone already holds the chat.
    """
    if await handoff.current_holder(gw, conv["conversation_id"]) == HOLDER_BOT:
        answer = await _answer(gw, conv, "human")
        if answer is not None:
            saved = await deliver(gw, conv["conversation_id"], bot_messages(answer))
            reason = answer.handoff.reason if answer.handoff else "asked"
            return saved + await request_human(gw, conv["conversation_id"], reason=reason)
    return await request_human(gw, conv["conversation_id"], reason="asked")


async def request_human(
    gw: Gateway, conversation_id: str, *, reason: str, refund_id: str | None = None
) -> list[dict[str, Any]]:
    """Put the conversation in the agent queue (idempotent in SQL) and tell the shopper where they stand."""
    item, created = await gw.db.run(handoff.sql_enqueue, conversation_id, reason=reason, refund_id=refund_id)
    if created:
        metrics.HANDOFFS.labels(reason).inc()
        await publish_event(gw.redis, gw.keys.queue_channel(), {"type": "enqueued", **item})
    text = messages.HANDOFF_WAITING if created else messages.HANDOFF_ALREADY
    return await deliver(gw, conversation_id, [NewMessage(sender="bot", text=text)])
