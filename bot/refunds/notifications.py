"""The notifications outbox: written in the same transaction as the money moves, delivered later."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.refunds import schemas
from bot.refunds.errors import NotFound
from bot.refunds.models import Notification, utcnow


def notify(
    session: Session,
    *,
    shopper_id: str,
    kind: str,
    text: str,
    refund_id: str | None = None,
    coupon_id: str | None = None,
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
            created_at=now or utcnow(),
        )
    )


def list_notifications(
    session: Session, *, shopper_id: str, undelivered_only: bool = False
) -> list[schemas.NotificationOut]:
    """The shopper's notifications, oldest first."""
    stmt = select(Notification).where(Notification.shopper_id == shopper_id)
    if undelivered_only:
        stmt = stmt.where(Notification.delivered_at.is_(None))
    rows = session.execute(stmt.order_by(Notification.id)).scalars()
    return [notification_out(n) for n in rows]


def mark_delivered(session: Session, *, notification_id: int) -> schemas.NotificationOut:
    """Record that the gateway delivered a notification (first delivery time wins)."""
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
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )
