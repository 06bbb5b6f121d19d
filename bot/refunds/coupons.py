"""Coupons: the alternative remedy, consuming the line quantity exactly like a refund does."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import metrics
from bot.policy import load_policy
from bot.refunds import ledger, schemas
from bot.refunds.models import Coupon, utcnow
from bot.refunds.notifications import notify_coupon_issued
from bot.refunds.orders import coupon_value, get_line


def new_code() -> str:
    """80 random bits in base32 (A-Z, 2-7): unguessable, yet easy to read out and type."""
    return "QC" + base64.b32encode(secrets.token_bytes(10)).decode()


def issue_coupon(
    session: Session, *, idempotency_key: str, data: schemas.CouponIn, now: datetime | None = None
) -> tuple[Coupon, bool]:
    """Issue a coupon for items of a line, or return the one issued earlier under the same key."""
    now = now or utcnow()
    digest = ledger.request_hash(data.dict())
    ledger.lock_shopper(session, data.shopper_id)  # before the key lookup: see ledger.lock_shopper
    existing = ledger.by_idempotency_key(session, Coupon, idempotency_key)
    if existing is not None:
        return ledger.replay(existing, digest), False

    line = get_line(session, order_id=data.order_id, line_id=data.line_id, shopper_id=data.shopper_id)
    ledger.check_quantity(line, data.quantity)
    value = coupon_value(line.unit_price_cents * data.quantity)
    coupon = Coupon(
        id=ledger.new_id("cp"),
        idempotency_key=idempotency_key,
        request_hash=digest,
        code=new_code(),
        shopper_id=data.shopper_id,
        order_id=line.order_id,  # the feed's id, in its case
        line_id=data.line_id,
        quantity=data.quantity,
        value_cents=value,
        expires_at=now + timedelta(days=int(load_policy()["remedies"]["coupon_valid_days"])),
        conversation_id=data.conversation_id,
        created_at=now,
    )
    session.add(coupon)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        existing = ledger.by_idempotency_key(session, Coupon, idempotency_key)
        if existing is None:
            raise
        return ledger.replay(existing, digest), False
    # A coupon is not money back: it takes the quantity, not refunded_cents.
    ledger.move_line(session, line_id=line.line_id, quantity=data.quantity, refunded_cents=0)
    notify_coupon_issued(session, coupon, now=now)
    session.commit()
    metrics.coupon_issued(value_cents=coupon.value_cents)
    return coupon, True


def coupon_out(coupon: Coupon) -> schemas.CouponOut:
    return schemas.CouponOut(
        coupon_id=coupon.id,
        code=coupon.code,
        value_cents=coupon.value_cents,
        expires_at=coupon.expires_at,
        shopper_id=coupon.shopper_id,
        order_id=coupon.order_id,
        line_id=coupon.line_id,
        quantity=coupon.quantity,
        conversation_id=coupon.conversation_id,
        created_at=coupon.created_at,
    )
