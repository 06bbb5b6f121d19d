"""Coupons and quotes: values from policy, and one remedy per item."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.refunds import coupons, orders, service
from bot.refunds.errors import Conflict, Invalid
from bot.refunds.models import Notification, OrderLine
from bot.refunds.schemas import CouponIn, OrderIn, RefundIn


def coupon_body(
    line_id: str = "O1001-1", quantity: int = 1, order: str = "O1001", shopper: str = "s1"
) -> CouponIn:
    return CouponIn(
        shopper_id=shopper, order_id=order, line_id=line_id, quantity=quantity, conversation_id="c1"
    )


def test_quote_uses_policy(session: Session) -> None:
    # seed: O1001-1 is 12 晨光中性笔 at 350 cents, so all 12 are 4200; data/policy.yml remedies: coupon_multiplier
    # 1.5 (4200 x 1.5 = 6300, above the 500 minimum), recommended: refund
    quote = orders.quote(session, order_id="O1001", line_id="O1001-1", quantity=12)
    assert quote.refund_cents == 4200
    assert quote.coupon_cents == 6300
    assert (quote.recommended, quote.max_quantity) == ("refund", 12)
    with pytest.raises(Conflict):
        orders.quote(session, order_id="O1001", line_id="O1001-1", quantity=13)


def test_coupon_value_never_below_minimum(session: Session) -> None:
    orders.create_order(
        session,
        data=OrderIn(
            order_id="O9001",
            shopper_id="s1",
            lines=[{"sku": "STK-1", "name": "贴纸", "unit_price_cents": 100, "quantity": 3}],
        ),
    )
    coupon, _ = coupons.issue_coupon(session, idempotency_key="k", data=coupon_body("O9001-1", order="O9001"))
    # one 贴纸 at 100 cents x 1.5 is 150, under data/policy.yml's coupon_minimum_cents: the minimum, 500
    assert coupon.value_cents == 500


def test_coupon_value_and_code(session: Session) -> None:
    coupon, created = coupons.issue_coupon(session, idempotency_key="k", data=coupon_body(quantity=2))
    # two pens of seeded O1001-1 at 350 cents = 700, x policy.yml's coupon_multiplier 1.5 = 1050 (over the 500
    # minimum), valid for coupon_valid_days: 30
    assert created and coupon.value_cents == 1050
    assert len(coupon.code) >= 16 and (coupon.expires_at - coupon.created_at).days == 30
    session.expire_all()
    line = session.get(OrderLine, "O1001-1")
    assert (line.remedied_quantity, line.refunded_cents) == (2, 0)


def test_issued_coupon_is_told_once_with_code_and_beijing_expiry(session: Session) -> None:
    created_at = datetime(2025, 3, 1, 20, 0, tzinfo=timezone.utc)  # already 2 March in Beijing
    coupon, _ = coupons.issue_coupon(session, idempotency_key="k", data=coupon_body(), now=created_at)
    coupons.issue_coupon(session, idempotency_key="k", data=coupon_body(), now=created_at)  # a replay
    # policy.yml coupon_valid_days 30: 2025-03-31 20:00 UTC, which is 1 April 04:00 in Beijing (UTC+8)
    expires = "2025-04-01"
    notes = session.execute(select(Notification).where(Notification.shopper_id == "s1")).scalars().all()
    assert [(n.kind, n.coupon_id, n.conversation_id, n.text) for n in notes] == [
        (
            "coupon_issued",
            coupon.id,
            "c1",
            f"¥5.25无门槛优惠券已发放到您的账户（晨光中性笔 0.5mm 黑色×1的补偿），券码 {coupon.code}，"
            f"有效期至 {expires}，下单时自动抵扣～",
        )
    ]


def test_coupon_is_idempotent(session: Session) -> None:
    first, _ = coupons.issue_coupon(session, idempotency_key="k", data=coupon_body())
    again, created = coupons.issue_coupon(session, idempotency_key="k", data=coupon_body())
    assert not created and again.id == first.id and again.code == first.code
    with pytest.raises(Invalid):
        coupons.issue_coupon(session, idempotency_key="k", data=coupon_body(quantity=2))
    session.expire_all()
    assert session.get(OrderLine, "O1001-1").remedied_quantity == 1


def test_coupon_and_refund_for_the_same_item_are_refused(session: Session) -> None:
    coupons.issue_coupon(session, idempotency_key="c", data=coupon_body("O1001-3"))
    refund = RefundIn(
        shopper_id="s1", order_id="O1001", line_id="O1001-3", quantity=1, case_type="not_delivered"
    )
    with pytest.raises(Conflict):
        service.create_refund(session, idempotency_key="r", data=refund)
    refund2 = RefundIn(
        shopper_id="s1", order_id="O1001", line_id="O1001-2", quantity=3, case_type="not_delivered"
    )
    service.create_refund(session, idempotency_key="r2", data=refund2)
    with pytest.raises(Conflict):
        coupons.issue_coupon(session, idempotency_key="c2", data=coupon_body("O1001-2"))


def test_coupon_for_another_shoppers_order_is_403(session: Session) -> None:
    with pytest.raises(orders.Forbidden):
        coupons.issue_coupon(session, idempotency_key="c", data=coupon_body(shopper="s3"))


def test_order_feed_and_listing(session: Session) -> None:
    with pytest.raises(Conflict):
        orders.create_order(
            session,
            data=OrderIn(
                order_id="O1001",
                shopper_id="s1",
                lines=[{"sku": "X", "name": "X", "unit_price_cents": 1, "quantity": 1}],
            ),
        )
    orders.create_order(
        session,
        data=OrderIn(
            order_id="O4001",
            shopper_id="s4",
            shopper_name="新人",
            lines=[{"sku": "TS", "name": "T恤", "unit_price_cents": 4900, "quantity": 1}],
        ),
    )
    assert [o.order_id for o in orders.list_orders(session, shopper_id="s4")] == ["O4001"]
    assert [o.order_id for o in orders.list_orders(session, shopper_id="s1")] == ["O1001", "O1002", "O1003"]
