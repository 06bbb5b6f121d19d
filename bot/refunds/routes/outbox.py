"""The shoppers' notifications outbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from bot.refunds import notifications, schemas
from bot.refunds.deps import SessionDep
from bot.refunds.schemas import MAX_SQL_INT

router = APIRouter(tags=["outbox"])
TEN_YEARS = 10 * 365 * 24 * 3600  # older than this is everything; far older would not be a date any more


@router.get("/notifications", response_model=list[schemas.NotificationOut])
def list_notifications(
    session: SessionDep,
    shopper_id: str | None = None,
    conversation_id: str | None = None,
    undelivered: bool = False,
    min_age_seconds: Annotated[float, Query(ge=0, le=TEN_YEARS)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[schemas.NotificationOut]:
    """Oldest first. Without shopper_id or conversation_id: everyone's (the gateway's delivery sweep)."""
    return notifications.list_notifications(
        session,
        shopper_id=shopper_id,
        conversation_id=conversation_id,
        undelivered_only=undelivered,
        min_age_seconds=min_age_seconds,
        limit=limit,
    )


@router.post("/notifications/{notification_id}/delivered", response_model=schemas.NotificationOut)
def mark_delivered(
    notification_id: Annotated[int, Path(ge=1, le=MAX_SQL_INT)], session: SessionDep
) -> schemas.NotificationOut:
    """Idempotent: marking again keeps the first delivery time."""
    return notifications.mark_delivered(session, notification_id=notification_id)
