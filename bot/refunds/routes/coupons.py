"""Coupons: issued under an Idempotency-Key, worth what the policy says."""

from __future__ import annotations

from fastapi import APIRouter, Response

from bot.refunds import coupons, schemas
from bot.refunds.deps import IdempotencyKeyDep, SessionDep

router = APIRouter(tags=["coupons"])


@router.post("/coupons", response_model=schemas.CouponOut, status_code=201)
def issue_coupon(
    body: schemas.CouponIn, key: IdempotencyKeyDep, session: SessionDep, response: Response
) -> schemas.CouponOut:
    coupon, created = coupons.issue_coupon(session, idempotency_key=key, data=body)
    if not created:
        response.status_code = 200
    return coupons.coupon_out(coupon)
