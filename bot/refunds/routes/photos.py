"""Photos as the refund service sees them: the evidence store's record plus whether a refund already uses it."""

from __future__ import annotations

from fastapi import APIRouter

from bot.refunds import risk, schemas
from bot.refunds.deps import SessionDep

router = APIRouter(tags=["photos"])


@router.get("/photos/{photo_id}", response_model=schemas.PhotoOut)
def get_photo(photo_id: str, session: SessionDep) -> schemas.PhotoOut:
    """404 photo_not_found for an unknown (or malformed) id; `reused` when it or a near copy backs another refund."""
    return risk.photo_info(session, photo_id=photo_id)
