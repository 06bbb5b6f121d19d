"""Refunds: creation under an Idempotency-Key, reads, and the agents' decisions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from bot.refunds import schemas, service
from bot.refunds.deps import IdempotencyKeyDep, RefundDep, SessionDep

router = APIRouter(tags=["refunds"])


@router.post("/refunds", response_model=schemas.RefundOut, status_code=201)
def create_refund(
    body: schemas.RefundIn, key: IdempotencyKeyDep, session: SessionDep, response: Response
) -> schemas.RefundOut:
    refund, created = service.create_refund(session, idempotency_key=key, data=body)
    if not created:
        response.status_code = 200
    return service.refund_out(session, refund)


@router.get("/refunds", response_model=list[schemas.RefundOut])
def list_refunds(
    session: SessionDep, shopper_id: str, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[schemas.RefundOut]:
    return [
        service.refund_out(session, r)
        for r in service.list_refunds(session, shopper_id=shopper_id, limit=limit)
    ]


@router.get("/refunds/{refund_id}", response_model=schemas.RefundOut)
def get_refund(refund: RefundDep, session: SessionDep) -> schemas.RefundOut:
    return service.refund_out(session, refund)


@router.post("/refunds/{refund_id}/approve", response_model=schemas.RefundOut)
def approve(refund_id: str, body: schemas.DecisionIn, session: SessionDep) -> schemas.RefundOut:
    refund = service.approve(session, refund_id=refund_id, decided_by=body.decided_by, reason=body.reason)
    return service.refund_out(session, refund)


@router.post("/refunds/{refund_id}/reject", response_model=schemas.RefundOut)
def reject(refund_id: str, body: schemas.DecisionIn, session: SessionDep) -> schemas.RefundOut:
    refund = service.reject(session, refund_id=refund_id, decided_by=body.decided_by, reason=body.reason)
    return service.refund_out(session, refund)


@router.post("/refunds/{refund_id}/settle", response_model=schemas.RefundOut)
def settle(refund_id: str, session: SessionDep, body: schemas.SettleIn | None = None) -> schemas.RefundOut:
    decided_by = body.decided_by if body else service.SYSTEM
    refund = service.settle(session, refund_id=refund_id, decided_by=decided_by)
    return service.refund_out(session, refund)
