"""The notifications outbox: written in the same transaction as the money moves, delivered later.

This is the only place that tells a shopper about money: a refund paid out (at once or after an agent
approved), a refund turned down, a coupon issued. Amounts, items and codes come from the rows just
written, never from a caller. A refund held for review is not written here: no money moved, and the
bot (or agent) that holds the chat says so in its own words. The gateway reads the outbox
(`GET /notifications?undelivered=true`), puts each notification into the transcript of its
conversation and then marks it delivered (bot/gateway/notices.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.refunds import messages, schemas
from bot.refunds.errors import NotFound
from bot.refunds.models import Coupon, Notification, OrderLine, Refund, utcnow

CHINA = timezone(timedelta(hours=8))  # dates shoppers read (a coupon's last day) are Beijing time


def notify(
    session: Session,
    *,
    shopper_id: str,
    kind: str,
    text: str,
    refund_id: str | None = None,
    coupon_id: str | None = None,
    conversation_id: str | None = None,
    now: datetime | None = None,
) -> None:
    """Queue a message for the shopper; the caller's transaction commits it."""
    session.add(
        Notification(
            shopper_id=shopper_id,
            kind=kind,
            text=text,
            refund_id=refund_id,
            coupon_id=coupon_id,
            conversation_id=conversation_id,
            created_at=now or utcnow(),
        )
    )


def _item(session: Session, line_id: str) -> str:
    line = session.get(OrderLine, line_id)
    return line.name if line is not None else "商品"


def notify_refund_settled(session: Session, refund: Refund, *, now: datetime) -> None:
    """The money went back: 极速退款 when the system approved it, otherwise an agent's approval."""
    text = messages.refund_settled(
        _item(session, refund.line_id), refund.quantity, refund.amount_cents, fast=refund.decided_by == "system"
    )
    _notify_refund(session, refund, kind="refund_settled", text=text, now=now)


def notify_refund_rejected(session: Session, refund: Refund, *, now: datetime) -> None:
    text = messages.refund_rejected(_item(session, refund.line_id), refund.quantity, refund.amount_cents, refund.reason)
    _notify_refund(session, refund, kind="refund_rejected", text=text, now=now)


def _notify_refund(session: Session, refund: Refund, *, kind: str, text: str, now: datetime) -> None:
    notify(
        session,
        shopper_id=refund.shopper_id,
        kind=kind,
        text=text,
        refund_id=refund.id,
        conversation_id=refund.conversation_id,
        now=now,
    )


def notify_coupon_issued(session: Session, coupon: Coupon, *, now: datetime) -> None:
    expires = coupon.expires_at.astimezone(CHINA).strftime("%Y-%m-%d")
    text = messages.coupon_issued(
        _item(session, coupon.line_id), coupon.quantity, coupon.value_cents, coupon.code, expires
    )
    notify(
        session,
        shopper_id=coupon.shopper_id,
        kind="coupon_issued",
        text=text,
        coupon_id=coupon.id,
        conversation_id=coupon.conversation_id,
        now=now,
    )


def list_notifications(
    session: Session,
    *,
    shopper_id: str | None = None,
    conversation_id: str | None = None,
    undelivered_only: bool = False,
    min_age_seconds: float = 0,
    limit: int = 100,
) -> list[schemas.NotificationOut]:
    """Notifications, oldest first: of a shopper or a conversation (or everyone's), optionally only those
    not delivered yet and written at least `min_age_seconds` ago (by this service's clock)."""
    stmt = select(Notification)
    if shopper_id is not None:
        stmt = stmt.where(Notification.shopper_id == shopper_id)
    if conversation_id is not None:
        stmt = stmt.where(Notification.conversation_id == conversation_id)
    if undelivered_only:
        stmt = stmt.where(Notification.delivered_at.is_(None))
    if min_age_seconds > 0:
        stmt = stmt.where(Notification.created_at <= utcnow() - timedelta(seconds=min_age_seconds))
    rows = session.execute(stmt.order_by(Notification.id).limit(limit)).scalars()
    return [notification_out(n) for n in rows]


def mark_delivered(session: Session, *, notification_id: int) -> schemas.NotificationOut:
    """Record that the gateway delivered a notification (idempotent: the first delivery time wins)."""
    session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.delivered_at.is_(None))
        .values(delivered_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.commit()
    row = session.get(Notification, notification_id)
    if row is None:
        raise NotFound("notification_not_found", f"notification {notification_id} does not exist")
    session.refresh(row)
    return notification_out(row)


def notification_out(row: Notification) -> schemas.NotificationOut:
    return schemas.NotificationOut(
        id=row.id,
        shopper_id=row.shopper_id,
        kind=row.kind,
        text=row.text,
        refund_id=row.refund_id,
        coupon_id=row.coupon_id,
        conversation_id=row.conversation_id,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )
