"""The transcript in SQL: conversations and their messages, numbered 1, 2, 3... per conversation."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.transcript.models import HOLDER_BOT, Conversation, Message, now_utc


@dataclass
class NewMessage:
    """A message about to be appended (seq is assigned by append_messages)."""

    sender: str
    text: str = ""
    buttons: list[dict[str, str]] = field(default_factory=list)
    author: str | None = None
    payload: str | None = None
    photo_id: str | None = None
    photo_kind: str | None = None
    bot_pending: bool = False
    notification_id: int | None = None  # the refund-service notification it tells (unique)


def message_dict(msg: Message) -> dict[str, Any]:
    """The public shape of a message (docs/api.md, shopper API), plus a few extras the pages use."""
    out: dict[str, Any] = {
        "seq": msg.seq,
        "sender": msg.sender,
        "text": msg.text,
        "buttons": list(msg.buttons or []),
        "created_at": msg.created_at.isoformat() if msg.created_at else None,
    }
    if msg.photo_id:
        out["image"] = f"/api/photos/{msg.photo_id}"
        out["photo_id"] = msg.photo_id
        out["photo_kind"] = msg.photo_kind
    if msg.sender == "agent":
        out["agent_id"] = msg.author
    if msg.payload:
        out["payload"] = msg.payload  # the shopper clicked a button rather than typing
    if msg.notification_id is not None:
        out["notice"] = True  # told by the refund service (money), not said by the bot
    return out


def create_conversation(session: Session, *, shopper_id: str, order_id: str | None) -> Conversation:
    """Insert a new conversation held by the bot."""
    conv = Conversation(
        id=f"c_{secrets.token_hex(8)}",
        shopper_id=shopper_id,
        order_id=order_id,
        holder=HOLDER_BOT,
        last_seq=0,
        created_at=now_utc(),
        updated_at=now_utc(),
    )
    session.add(conv)
    session.flush()
    return conv


def get_conversation(session: Session, conversation_id: str) -> Conversation | None:
    return session.get(Conversation, conversation_id)


def append_messages(session: Session, conversation_id: str, items: list[NewMessage]) -> list[dict[str, Any]]:
    """Append messages with the next sequence numbers; returns their public dicts.

    The UPDATE of last_seq takes the conversation's row lock (SQLite: the write lock), so writers of
    one conversation commit in seq order and a reader never sees seq N+1 without seq N.
    """
    if not items:
        return []
    session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(last_seq=Conversation.last_seq + len(items), updated_at=now_utc())
    )
    last = session.execute(select(Conversation.last_seq).where(Conversation.id == conversation_id)).scalar_one()
    first = last - len(items) + 1
    rows = []
    for offset, item in enumerate(items):
        row = Message(
            conversation_id=conversation_id,
            seq=first + offset,
            sender=item.sender,
            author=item.author,
            text=item.text,
            buttons=item.buttons,
            payload=item.payload,
            photo_id=item.photo_id,
            photo_kind=item.photo_kind,
            bot_pending=1 if item.bot_pending else 0,
            notification_id=item.notification_id,
            created_at=now_utc(),
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return [message_dict(r) for r in rows]


def messages_after(session: Session, conversation_id: str, after: int, limit: int = 500) -> list[dict[str, Any]]:
    stmt = (
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.seq > after)
        .order_by(Message.seq)
        .limit(limit)
    )
    return [message_dict(m) for m in session.execute(stmt).scalars()]


def pending_photos(session: Session, conversation_id: str) -> list[dict[str, Any]]:
    """Photos owed to the bot (sent while it did not hold the chat), oldest first."""
    stmt = select(Message.id, Message.photo_id, Message.photo_kind).where(
        Message.conversation_id == conversation_id, Message.bot_pending == 1
    )
    return [{"id": r.id, "photo_id": r.photo_id, "photo_kind": r.photo_kind}
            for r in session.execute(stmt.order_by(Message.seq))]


def move_pending(session: Session, message_id: int, before: int, after: int) -> bool:
    """Compare-and-set of `bot_pending`: of two requests handing the same photo over, one takes it."""
    moved = session.execute(
        update(Message).where(Message.id == message_id, Message.bot_pending == before).values(bot_pending=after)
    ).rowcount
    return bool(moved == 1)


def list_conversations(session: Session, shopper_id: str, limit: int = 20) -> list[dict[str, Any]]:
    stmt = (
        select(Conversation)
        .where(Conversation.shopper_id == shopper_id)
        .order_by(Conversation.updated_at.desc())
        .limit(limit)
    )
    return [conversation_dict(c) for c in session.execute(stmt).scalars()]


def conversation_dict(conv: Conversation) -> dict[str, Any]:
    return {
        "conversation_id": conv.id,
        "shopper_id": conv.shopper_id,
        "order_id": conv.order_id,
        "holder": conv.holder,
        "last_seq": conv.last_seq,
        "created_at": conv.created_at.isoformat() if conv.created_at else None,
    }
