"""Inbox tables: texts the bot misunderstood, grouped by normalised text, and each time one was seen."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)

from bot.db import Base
from bot.transcript.models import now_utc

INBOX_STATUSES = ("open", "labelled", "dismissed")
HIT_REASONS = ("fallback", "low_confidence", "agent")


class InboxItem(Base):
    """One distinct text (after normalisation) with how often it was misunderstood and its label."""

    __tablename__ = "nlu_inbox_items"
    __table_args__ = (
        UniqueConstraint("text_key", name="uq_nlu_inbox_items_text_key"),
        CheckConstraint("status IN ('open', 'labelled', 'dismissed')", name="ck_nlu_inbox_items_status"),
        CheckConstraint("hits >= 0", name="ck_nlu_inbox_items_hits"),
        CheckConstraint("status <> 'labelled' OR label_intent IS NOT NULL", name="ck_nlu_inbox_items_label"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    text_key = Column(String(64), nullable=False)  # sha256 of the normalised text
    text = Column(Text, nullable=False)  # as the shopper first typed it
    status = Column(String(16), nullable=False, default="open", index=True)
    hits = Column(Integer, nullable=False, default=0)
    first_seen = Column(DateTime(timezone=True), nullable=False, default=now_utc)
    last_seen = Column(DateTime(timezone=True), nullable=False, default=now_utc, index=True)
    label_intent = Column(String(80), nullable=True)
    label_entities = Column(JSON, nullable=True)  # [{"start", "end", "entity", "value"}]
    label_file = Column(String(200), nullable=True)  # data/nlu/... the example went to
    decided_by = Column(String(64), nullable=True)  # the trainer who labelled or dismissed it
    decided_at = Column(DateTime(timezone=True), nullable=True)


class InboxHit(Base):
    """One shopper message that put its text in the inbox, with what the model thought of it."""

    __tablename__ = "nlu_inbox_hits"
    __table_args__ = (
        UniqueConstraint("conversation_id", "message_seq", name="uq_nlu_inbox_hits_message"),
        CheckConstraint("reason IN ('fallback', 'low_confidence', 'agent')", name="ck_nlu_inbox_hits_reason"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    item_id = Column(Integer, ForeignKey("nlu_inbox_items.id"), nullable=False, index=True)
    conversation_id = Column(String(64), ForeignKey("conversations.id"), nullable=False)
    message_seq = Column(Integer, nullable=False)
    reason = Column(String(16), nullable=False)
    intent = Column(String(80), nullable=True)  # the model's top intent (nlu_fallback included)
    confidence = Column(Float, nullable=True)
    ranking = Column(JSON, nullable=False, default=list)  # [{"name", "confidence"}], best first
    marked_by = Column(String(64), nullable=True)  # the agent who marked it, for reason "agent"
    created_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)
