"""Tables of the refund service. Money is integer cents; the ledger limits are CHECK constraints."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

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
from sqlalchemy.types import TypeDecorator

from bot.db import Base
from bot.evidence import store as evidence

REFUND_STATES = ("requested", "approved", "needs_review", "rejected", "settled")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stores UTC and always returns aware datetimes (SQLite hands back naive ones otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTCDateTime column")
            value = value.astimezone(timezone.utc)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Shopper(Base):
    __tablename__ = "shoppers"

    id = Column(String(64), primary_key=True)
    name = Column(String(100), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)  # account age for risk


class Order(Base):
    __tablename__ = "orders"

    order_id = Column(String(64), primary_key=True)
    shopper_id = Column(
        String(64), ForeignKey("shoppers.id", name="fk_orders_shopper"), nullable=False, index=True
    )
    placed_at = Column(UTCDateTime, nullable=False, default=utcnow)
    status = Column(String(32), nullable=False, default="delivered")


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_order_lines_quantity_positive"),
        CheckConstraint("unit_price_cents >= 0", name="ck_order_lines_price_nonnegative"),
        CheckConstraint(
            "remedied_quantity >= 0 AND remedied_quantity <= quantity",
            name="ck_order_lines_remedied_le_quantity",
        ),
        CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= unit_price_cents * quantity",
            name="ck_order_lines_refunded_le_paid",
        ),
    )

    line_id = Column(String(64), primary_key=True)
    order_id = Column(
        String(64), ForeignKey("orders.order_id", name="fk_order_lines_order"), nullable=False, index=True
    )
    sku = Column(String(64), nullable=False)
    merchant_id = Column(String(64), nullable=True)  # who sells it (the order feed's; None when not given)
    name = Column(String(200), nullable=False)
    unit_price_cents = Column(Integer, nullable=False)
    quantity = Column(Integer, nullable=False)
    remedied_quantity = Column(Integer, nullable=False, default=0)  # refunded or compensated by coupon
    refunded_cents = Column(Integer, nullable=False, default=0)


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_refunds_idempotency_key"),
        CheckConstraint("quantity > 0", name="ck_refunds_quantity_positive"),
        CheckConstraint("amount_cents >= 0", name="ck_refunds_amount_nonnegative"),
        CheckConstraint("risk_score >= 0 AND risk_score <= 100", name="ck_refunds_risk_range"),
        CheckConstraint(
            "state IN ('requested', 'approved', 'needs_review', 'rejected', 'settled')",
            name="ck_refunds_state",
        ),
        Index("ix_refunds_shopper_created", "shopper_id", "created_at"),
    )

    id = Column(String(32), primary_key=True)
    idempotency_key = Column(String(128), nullable=False)
    request_hash = Column(String(64), nullable=False)
    shopper_id = Column(String(64), ForeignKey("shoppers.id", name="fk_refunds_shopper"), nullable=False)
    order_id = Column(String(64), ForeignKey("orders.order_id", name="fk_refunds_order"), nullable=False)
    line_id = Column(
        String(64), ForeignKey("order_lines.line_id", name="fk_refunds_line"), nullable=False, index=True
    )
    quantity = Column(Integer, nullable=False)
    amount_cents = Column(Integer, nullable=False)
    case_type = Column(String(32), nullable=False)
    state = Column(String(16), nullable=False, default="requested")
    risk_score = Column(Integer, nullable=False, default=0)
    risk_reasons = Column(JSON, nullable=False, default=list)
    conversation_id = Column(String(64), nullable=True)
    decided_by = Column(String(64), nullable=True)
    reason = Column(Text, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)
    settled_at = Column(UTCDateTime, nullable=True)


def _band_of(index: int, column: str = "phash") -> Any:
    """Column default: band `index` of the row's phash (or centre_hash: None without one), the evidence store's index
    keys, so every insert files the photo under its bands and no caller can forget to."""

    def default(context: Any) -> int | None:
        value = context.get_current_parameters().get(column)
        return None if value is None else evidence.hash_bands(value)[index]

    return default


class RefundPhoto(Base):
    """A photo backing a refund, with its perceptual hash and that hash's bands: reuse of the photo, or of a near
    copy, is looked up through the band indexes (bot/refunds/risk.py), never by reading every row."""

    __tablename__ = "refund_photos"

    refund_id = Column(String(32), ForeignKey("refunds.id", name="fk_refund_photos_refund"), primary_key=True)
    photo_id = Column(
        String(32), ForeignKey("photos.id", name="fk_refund_photos_photo"), primary_key=True, index=True
    )
    phash = Column(String(16), nullable=False, index=True)
    band0 = Column(Integer, nullable=False, index=True, default=_band_of(0))
    band1 = Column(Integer, nullable=False, index=True, default=_band_of(1))
    band2 = Column(Integer, nullable=False, index=True, default=_band_of(2))
    # the centre's hash and bands: crops and turned copies are found through them (bot/evidence/fingerprint.py)
    centre_hash = Column(String(16), nullable=True)
    cband0 = Column(Integer, nullable=True, index=True, default=_band_of(0, "centre_hash"))
    cband1 = Column(Integer, nullable=True, index=True, default=_band_of(1, "centre_hash"))
    cband2 = Column(Integer, nullable=True, index=True, default=_band_of(2, "centre_hash"))


class RefundEvent(Base):
    """State history of a refund, so agents can see who moved it and why."""

    __tablename__ = "refund_events"

    id = Column(Integer, primary_key=True, autoincrement=True)
    refund_id = Column(
        String(32), ForeignKey("refunds.id", name="fk_refund_events_refund"), nullable=False, index=True
    )
    from_state = Column(String(16), nullable=True)
    to_state = Column(String(16), nullable=False)
    actor = Column(String(64), nullable=False)  # "system", "risk", or the agent's id
    reason = Column(Text, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class Coupon(Base):
    __tablename__ = "coupons"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_coupons_idempotency_key"),
        UniqueConstraint("code", name="uq_coupons_code"),
        CheckConstraint("quantity > 0", name="ck_coupons_quantity_positive"),
        CheckConstraint("value_cents > 0", name="ck_coupons_value_positive"),
    )

    id = Column(String(32), primary_key=True)
    idempotency_key = Column(String(128), nullable=False)
    request_hash = Column(String(64), nullable=False)
    code = Column(String(32), nullable=False)
    shopper_id = Column(
        String(64), ForeignKey("shoppers.id", name="fk_coupons_shopper"), nullable=False, index=True
    )
    order_id = Column(String(64), ForeignKey("orders.order_id", name="fk_coupons_order"), nullable=False)
    line_id = Column(String(64), ForeignKey("order_lines.line_id", name="fk_coupons_line"), nullable=False)
    quantity = Column(Integer, nullable=False)
    value_cents = Column(Integer, nullable=False)
    expires_at = Column(UTCDateTime, nullable=False)
    conversation_id = Column(String(64), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class Notification(Base):
    """Outbox of messages about money for the shopper, written in the transaction that moves it.

    The gateway puts each one into the transcript of `conversation_id` (exactly once: see
    bot/gateway/notices.py) and then sets delivered_at.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_conversation_id", "conversation_id"),
        Index("ix_notifications_delivered_at", "delivered_at"),
        # An id names one notice for ever: the transcript keys its message on it (messages.notification_id),
        # so SQLite must not hand a deleted row's id to a new notice (PostgreSQL sequences never do).
        {"sqlite_autoincrement": True},
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    shopper_id = Column(
        String(64), ForeignKey("shoppers.id", name="fk_notifications_shopper"), nullable=False, index=True
    )
    kind = Column(String(32), nullable=False)  # refund_settled | refund_rejected | coupon_issued
    text = Column(Text, nullable=False)
    refund_id = Column(String(32), ForeignKey("refunds.id", name="fk_notifications_refund"), nullable=True)
    coupon_id = Column(String(32), ForeignKey("coupons.id", name="fk_notifications_coupon"), nullable=True)
    conversation_id = Column(String(64), nullable=True)  # the chat it is told in (the refund's or coupon's)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    delivered_at = Column(UTCDateTime, nullable=True)
