"""POST /complaints on the refund service: record one complaint per Idempotency-Key."""

from __future__ import annotations

from fastapi import APIRouter, Response

from bot.refunds.complaints import service
from bot.refunds.complaints.schemas import ComplaintIn, ComplaintOut
from bot.refunds.deps import IdempotencyKeyDep, SessionDep
from bot.refunds.errors import Invalid

router = APIRouter(tags=["complaints"])


@router.post("/complaints", response_model=ComplaintOut, status_code=201)
def create_complaint(
    body: ComplaintIn, key: IdempotencyKeyDep, session: SessionDep, response: Response
) -> ComplaintOut:
    try:
        complaint, created = service.create_complaint(session, idempotency_key=key, **body.dict())
    except service.KeyReused as exc:
        raise Invalid("idempotency_key_reused", "this Idempotency-Key was used for a different complaint") from exc
    if not created:
        response.status_code = 200
    return ComplaintOut(
        ticket=complaint.ticket, category=complaint.category, category_label=service.label_of(complaint.category),
        shopper_id=complaint.shopper_id, conversation_id=complaint.conversation_id, status=complaint.status,
        created_at=complaint.created_at,
    )
