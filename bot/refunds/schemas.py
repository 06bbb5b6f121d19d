"""Request and response bodies shared by the refund service and its client (pydantic v1)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, conint, conlist, constr, root_validator

from bot.policy import CASE_TYPES

Ident = constr(regex=r"^[A-Za-z0-9_-]{1,64}$")
# Every number the service stores or compares in SQL fits an SQL INTEGER (32 bits on PostgreSQL); a bigger one is
# refused with 422 in the schema instead of overflowing the database driver (500).
MAX_SQL_INT = 2**31 - 1
# The most one order line may be worth (¥1,000,000): far above any real line, and small enough that its total,
# its refunded_cents and a coupon worth the policy's multiple of it all stay SQL INTEGERs.
MAX_LINE_CENTS = 100_000_000
Quantity = conint(gt=0, le=MAX_SQL_INT)
CaseType = Literal[CASE_TYPES]  # type: ignore[valid-type]
RefundState = Literal["requested", "approved", "needs_review", "rejected", "settled"]


class OrderLineIn(BaseModel):
    line_id: Ident | None = None  # type: ignore[valid-type]
    sku: constr(min_length=1, max_length=64)  # type: ignore[valid-type]
    merchant_id: Ident | None = None  # type: ignore[valid-type]
    name: constr(min_length=1, max_length=200)  # type: ignore[valid-type]
    unit_price_cents: conint(ge=0, le=MAX_LINE_CENTS)  # type: ignore[valid-type]
    quantity: conint(gt=0, le=MAX_LINE_CENTS)  # type: ignore[valid-type]

    @root_validator(skip_on_failure=True)
    def _total_fits(cls, values: dict) -> dict:
        if values["unit_price_cents"] * values["quantity"] > MAX_LINE_CENTS:
            raise ValueError(f"a line may be worth at most {MAX_LINE_CENTS} cents (unit_price_cents x quantity)")
        return values


class OrderIn(BaseModel):
    order_id: Ident  # type: ignore[valid-type]
    shopper_id: Ident  # type: ignore[valid-type]
    shopper_name: constr(min_length=1, max_length=100) | None = None  # type: ignore[valid-type]
    placed_at: datetime | None = None
    status: constr(min_length=1, max_length=32) = "delivered"  # type: ignore[valid-type]
    lines: conlist(OrderLineIn, min_items=1, max_items=200)  # type: ignore[valid-type]


class OrderLineOut(BaseModel):
    line_id: str
    sku: str
    merchant_id: str | None = None
    name: str
    unit_price_cents: int
    quantity: int
    remedied_quantity: int
    refunded_cents: int


class OrderOut(BaseModel):
    order_id: str
    shopper_id: str
    placed_at: datetime
    status: str
    lines: list[OrderLineOut]


class QuoteOut(BaseModel):
    order_id: str
    line_id: str
    quantity: int
    refund_cents: int
    coupon_cents: int
    recommended: Literal["refund", "coupon"]
    max_quantity: int


class PhotoOut(BaseModel):
    photo_id: str
    shopper_id: str
    conversation_id: str
    kind: str
    reused: bool


class RefundIn(BaseModel):
    shopper_id: Ident  # type: ignore[valid-type]
    order_id: Ident  # type: ignore[valid-type]
    line_id: Ident  # type: ignore[valid-type]
    quantity: Quantity  # type: ignore[valid-type]
    case_type: CaseType
    photo_ids: list[constr(regex=r"^[0-9a-f]{32}$")] = []  # type: ignore[valid-type]
    conversation_id: Ident | None = None  # type: ignore[valid-type]


class RiskReason(BaseModel):
    code: str
    detail: str


class RefundEventOut(BaseModel):
    from_state: str | None
    to_state: str
    actor: str
    reason: str | None
    created_at: datetime


class RefundOut(BaseModel):
    refund_id: str
    shopper_id: str
    order_id: str
    line_id: str
    quantity: int
    amount_cents: int
    case_type: str
    state: RefundState
    risk_score: int
    risk_reasons: list[RiskReason]
    conversation_id: str | None
    photo_ids: list[str] = []
    created_at: datetime
    updated_at: datetime
    settled_at: datetime | None
    decided_by: str | None
    reason: str | None
    events: list[RefundEventOut] = []


class DecisionIn(BaseModel):
    decided_by: Ident  # type: ignore[valid-type]
    reason: constr(max_length=500) | None = None  # type: ignore[valid-type]


class SettleIn(BaseModel):
    decided_by: Ident = "system"  # type: ignore[valid-type]


class CouponIn(BaseModel):
    shopper_id: Ident  # type: ignore[valid-type]
    order_id: Ident  # type: ignore[valid-type]
    line_id: Ident  # type: ignore[valid-type]
    quantity: Quantity  # type: ignore[valid-type]
    conversation_id: Ident | None = None  # type: ignore[valid-type]


class CouponOut(BaseModel):
    coupon_id: str
    code: str
    value_cents: int
    expires_at: datetime
    shopper_id: str
    order_id: str
    line_id: str
    quantity: int
    conversation_id: str | None
    created_at: datetime


class NotificationOut(BaseModel):
    id: int
    shopper_id: str
    kind: str
    text: str
    refund_id: str | None
    coupon_id: str | None
    conversation_id: str | None = None
    created_at: datetime
    delivered_at: datetime | None
