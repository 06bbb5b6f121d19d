"""Photos (evidence as the refund service sees it) and the shoppers' notifications outbox."""

from __future__ import annotations

from fastapi import APIRouter

from bot.refunds import notifications, risk, schemas
from bot.refunds.deps import SessionDep

router = APIRouter(tags=["outbox"])


@router.get("/photos/{photo_id}", response_model=schemas.PhotoOut)
def get_photo(photo_id: str, session: SessionDep) -> schemas.PhotoOut:
    return risk.photo_info(session, photo_id=photo_id)


@router.get("/notifications", response_model=list[schemas.NotificationOut])
def list_notifications(
    session: SessionDep, shopper_id: str, undelivered: bool = False
) -> list[schemas.NotificationOut]:
    return notifications.list_notifications(session, shopper_id=shopper_id, undelivered_only=undelivered)


@router.post("/notifications/{notification_id}/delivered", response_model=schemas.NotificationOut)
def mark_delivered(notification_id: int, session: SessionDep) -> schemas.NotificationOut:
    return notifications.mark_delivered(session, notification_id=notification_id)
