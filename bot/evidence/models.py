"""The photos table: one row per accepted upload, the file itself lives under var/photos/."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, Integer, String

from bot.db import Base


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Photo(Base):
    __tablename__ = "photos"

    id = Column(String(32), primary_key=True)  # random hex; also the stored file's stem
    shopper_id = Column(String(64), nullable=False, index=True)
    conversation_id = Column(String(64), nullable=False, index=True)
    kind = Column(String(16), nullable=False)  # package | label | items
    filename = Column(String(64), nullable=False, unique=True)
    content_type = Column(String(32), nullable=False)
    phash = Column(String(16), nullable=False, index=True)  # 64-bit perceptual hash, hex
    centre_hash = Column(String(16), nullable=True)  # pHash of the centre (bot/evidence/fingerprint.py), since 0009
    width = Column(Integer, nullable=False)
    height = Column(Integer, nullable=False)
    original_format = Column(String(16), nullable=False)
    original_bytes = Column(Integer, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=_now)
