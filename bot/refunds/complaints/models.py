"""The complaints table: one row per complaint message, found again by its idempotency key."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, Integer, String, Text

from bot.db import Base


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Complaint(Base):
    __tablename__ = "complaints"

    id = Column(Integer, primary_key=True, autoincrement=True)
    ticket = Column(String(24), nullable=False, unique=True)
    idempotency_key = Column(String(128), nullable=False, unique=True)
    shopper_id = Column(String(64), nullable=False, index=True)
    conversation_id = Column(String(64), nullable=False)
    category = Column(String(32), nullable=False)
    text = Column(Text, nullable=False)
    status = Column(String(16), nullable=False, default="open")
    created_at = Column(DateTime(timezone=True), nullable=False, default=_now)
