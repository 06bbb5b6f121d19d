"""The gateway's handoff table: a conversation handed to human agents (the transcript tables are in
bot.transcript.models)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, String

from bot.db import Base
from bot.transcript.models import now_utc

HANDOFF_REASONS = ("asked", "risk", "appeal", "complaint", "fallback")


class Handoff(Base):
    __tablename__ = "handoffs"
    __table_args__ = (
        CheckConstraint("reason IN ('asked', 'risk', 'appeal', 'complaint', 'fallback')", name="ck_handoffs_reason"),
        CheckConstraint("status IN ('waiting', 'claimed', 'released')", name="ck_handoffs_status"),
    )

    id = Column(String(32), primary_key=True)
    conversation_id = Column(String(64), ForeignKey("conversations.id"), nullable=False, index=True)
    reason = Column(String(16), nullable=False)  # asked | risk | appeal | complaint | fallback
    refund_id = Column(String(64), nullable=True, index=True)
    status = Column(String(16), nullable=False, index=True)  # waiting | claimed | released
    agent_id = Column(String(64), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)
    claimed_at = Column(DateTime(timezone=True), nullable=True)
    released_at = Column(DateTime(timezone=True), nullable=True)
