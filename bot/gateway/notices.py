"""Money notices: the refund service's outbox told in the shopper's chat, exactly once.

The refund service writes a notification in the same transaction as money moves (refund paid out,
refund turned down, coupon issued: bot/refunds/notifications.py). This module is its only reader and
so the only way a shopper hears about money. It reads the outbox through the refund service's HTTP API
(`GET /notifications?undelivered=true`, `POST /notifications/{id}/delivered`), like every other
refund-service read of the gateway, and for each notification:

1. In one SQL transaction of the transcript: lock the conversation row and, unless a message already
   carries this notification's id, append it as a bot message with `messages.notification_id` set.
   That column has a UNIQUE index, so when two gateway workers (or a request and the sweep) handle the
   same notification at once, at most one insert commits: the other finds the message after the lock,
   or hits the index and rolls back.
2. Only the transaction that wrote the message publishes it on the live channel. A worker that dies
   between commit and publish loses nothing: streams backfill from SQL (bot/gateway/live.py).
3. Mark it delivered. That is idempotent (the first time wins); if it fails, or the worker dies before
   it, the notification is listed again later, step 1 finds its message and writes nothing, and the
   marking is retried.

So the unique index, not the order of the steps or any lock across processes, is what makes delivery
exactly-once; `delivered_at` is bookkeeping that keeps the next listing short. A crash anywhere
leaves either no message (the notification is still undelivered: told later) or one message.

When: at the end of every bot answer to a shopper event (chat.ask_bot: an action that moved money has
just committed its notification, told right after the bot's own reply), after an agent's refund
decision (agents.decide), and by a sweep every few seconds (`GatewayConfig.notice_sweep_seconds`) for
anything else. The sweep only takes notifications older than a grace period, so it does not tell a
notice before the bot reply that the same request is about to save.

Where: the notification's conversation (the refund's or coupon's). One without (a refund made outside a
chat) goes to the conversation whose handoff names its refund. One whose conversation the gateway does
not know, or that belongs to another shopper, has no chat to be told in: it is marked delivered and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.gateway import handoff, transcript
from bot.gateway.context import Gateway
from bot.gateway.live import publish_messages
from bot.gateway.transcript import NewMessage
from bot.refunds.client import RefundsError
from bot.refunds.schemas import NotificationOut
from bot.transcript.models import Conversation, Message

log = logging.getLogger(__name__)

BATCH = 100  # notifications listed at a time
MAX_BATCHES = 10  # per sweep; the rest wait for the next one
REQUEST_TIMEOUT = 3.0  # inside a shopper's request a slow refund service must not hold up the answer


def _told(session: Session, notification_id: int) -> bool:
    found = session.execute(select(Message.id).where(Message.notification_id == notification_id)).first()
    return found is not None


def _record(session: Session, note: NotificationOut, conversation_id: str | None) -> list[dict[str, Any]]:
    """Append the notice to its conversation unless it is there already; the new messages (or none)."""
    if conversation_id is None:
        log.warning("notification %s (%s) names no conversation: not told in any chat", note.id, note.kind)
        return []
    conv = session.execute(
        select(Conversation).where(Conversation.id == conversation_id).with_for_update()  # SQLite: the write lock
    ).scalar_one_or_none()
    if conv is None or conv.shopper_id != note.shopper_id:
        log.warning("notification %s: conversation %s is not shopper %s's chat here: not told",
                    note.id, conversation_id, note.shopper_id)
        return []
    if _told(session, note.id):
        return []
    item = NewMessage(sender="bot", text=note.text, notification_id=note.id)
    return transcript.append_messages(session, conversation_id, [item])


async def deliver_notice(gw: Gateway, note: NotificationOut) -> list[dict[str, Any]]:
    """Tell one notification in its chat (at most once, whoever else tries) and mark it delivered.

    Returns the message this call wrote: empty when it was written before or has nowhere to go.
    """
    cid = note.conversation_id
    if cid is None and note.refund_id:
        cid = await gw.db.run(handoff.sql_conversation_of_refund, note.refund_id)
    try:
        saved = await gw.db.run(_record, note, cid)
    except IntegrityError:
        if not await gw.db.run(_told, note.id):
            raise
        saved = []  # another worker's insert won the unique index
    if saved and cid is not None:
        await publish_messages(gw.redis, gw.keys.conversation_channel(cid), saved)
    try:
        await gw.refunds.mark_delivered(note.id)
    except RefundsError as exc:  # told, not yet marked: the next listing returns it and marks it
        log.warning("notification %s told but not marked delivered: %s", note.id, exc)
    return saved


async def _pending(gw: Gateway, **filters: Any) -> list[NotificationOut]:
    return list(await gw.refunds.list_notifications(undelivered=True, limit=BATCH, **filters))


async def deliver_pending(
    gw: Gateway, *, conversation_id: str | None = None, shopper_id: str | None = None
) -> list[dict[str, Any]]:
    """Tell the pending notices of a conversation (or of a shopper) now; the messages written.

    Called inside requests, so it never fails them: whatever goes wrong is logged and the sweep retries.
    """
    if conversation_id is None and shopper_id is None:
        raise ValueError("deliver_pending needs a conversation or a shopper; the sweep covers everyone")
    told: list[dict[str, Any]] = []
    try:
        notes = await _pending(gw, conversation_id=conversation_id, shopper_id=shopper_id, timeout=REQUEST_TIMEOUT)
        for note in notes:
            told += await deliver_notice(gw, note)
    except RefundsError as exc:
        log.warning("notices of %s not told now (the sweep retries): %s", conversation_id or shopper_id, exc)
    except Exception:
        log.exception("telling the notices of %s failed (the sweep retries)", conversation_id or shopper_id)
    return told


async def sweep(gw: Gateway) -> int:
    """Tell every pending notice older than the grace period; how many messages were written.

    Raises RefundsError when the refund service cannot be asked.
    """
    written = 0
    for _ in range(MAX_BATCHES):
        notes = await _pending(gw, min_age_seconds=gw.config.notice_grace_seconds)
        for note in notes:
            written += len(await deliver_notice(gw, note))
        if len(notes) < BATCH:
            break
    return written


async def sweep_forever(gw: Gateway) -> None:
    """The background task of each gateway worker (several workers may sweep at once: see above)."""
    unreachable = False
    while True:
        await asyncio.sleep(gw.config.notice_sweep_seconds)
        try:
            await sweep(gw)
        except RefundsError as exc:
            if not unreachable:  # once per outage, not every few seconds
                log.warning("refund service outbox unreachable; the sweep keeps trying: %s", exc)
            unreachable = True
            continue
        except Exception:
            log.exception("notice sweep failed; trying again in %ss", gw.config.notice_sweep_seconds)
            continue
        if unreachable:
            log.info("refund service outbox reachable again")
        unreachable = False


def start_sweeper(gw: Gateway) -> asyncio.Task[None] | None:
    """Start the sweep (None when `notice_sweep_seconds` is 0: no sweeping in this process)."""
    if gw.config.notice_sweep_seconds <= 0:
        return None
    return asyncio.get_running_loop().create_task(sweep_forever(gw), name="notice-sweep")


async def stop_sweeper(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
