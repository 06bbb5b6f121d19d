"""Transcript tables: conversations and their numbered messages.

The gateway writes them (bot.gateway.transcript) and the trainer's NLU inbox reads shopper messages from them,
so they live below both; the gateway's own handoff table is in bot.gateway.models.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)

from bot.db import Base

# Who answers the shopper (Conversation.holder): the bot, the queue, or one agent ("agent:<id>").
HOLDER_BOT = "bot"
HOLDER_QUEUE = "queue"
AGENT_PREFIX = "agent:"


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


class Conversation(Base):
    __tablename__ = "conversations"

    id = Column(String(64), primary_key=True)
    shopper_id = Column(String(64), nullable=False, index=True)
    order_id = Column(String(64), nullable=True)
    # Who answers the shopper: "bot", "queue" (waiting for an agent) or "agent:<id>". This column is the
    # only copy; it changes only through the conditional UPDATEs in bot/gateway/handoff.py.
    holder = Column(String(80), nullable=False, default=HOLDER_BOT)
    last_seq = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_seq"),
        CheckConstraint("sender IN ('shopper', 'bot', 'agent')", name="ck_messages_sender"),
        CheckConstraint("seq > 0", name="ck_messages_seq_positive"),
        # one transcript message per refund-service notification (bot/gateway/notices.py); NULLs are not equal
        Index("uq_messages_notification_id", "notification_id", unique=True),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(String(64), ForeignKey("conversations.id"), nullable=False)
    seq = Column(Integer, nullable=False)
    sender = Column(String(16), nullable=False)  # shopper | bot | agent
    author = Column(String(64), nullable=True)  # the agent's id for agent messages
    text = Column(Text, nullable=False, default="")
    buttons = Column(JSON, nullable=False, default=list)  # [{"title", "payload"}]
    payload = Column(String(1000), nullable=True)  # the button payload a shopper clicked
    photo_id = Column(String(32), nullable=True)
    photo_kind = Column(String(16), nullable=True)
    # Shopper photos sent while an agent held the chat reach the bot on release.
    bot_pending = Column(Integer, nullable=False, default=0)
    # What the model made of a shopper's text: {"intent", "confidence", "ranking": [...], "entities"}
    nlu = Column(JSON, nullable=True)
    notification_id = Column(Integer, nullable=True)  # the refund-service notification this bot message tells
    created_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)
