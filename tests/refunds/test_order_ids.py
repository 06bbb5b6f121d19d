"""Order ids keep the case the feed gave them; given the owner, an id in another case finds their order."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from bot.refunds import coupons, orders, service
from bot.refunds.errors import Forbidden, NotFound
from bot.refunds.schemas import CouponIn, OrderIn, RefundIn


def feed(session: Session, order_id: str, shopper_id: str) -> None:
    line = {"sku": "PEN", "name": "晨光中性笔 0.5mm 黑色", "unit_price_cents": 350, "quantity": 3}
    orders.create_order(session, data=OrderIn(order_id=order_id, shopper_id=shopper_id, lines=[line]))


def test_the_owner_finds_their_order_in_any_case(session: Session) -> None:
    feed(session, "ab12x", "s1")
    assert orders.get_order(session, order_id="ab12x").order_id == "ab12x"  # stored as the feed gave it
    assert orders.get_order(session, order_id="AB12X", shopper_id="s1").order_id == "ab12x"
    with pytest.raises(NotFound):
        orders.get_order(session, order_id="AB12X")  # no owner named: the id as it is
    with pytest.raises(NotFound):
        orders.get_order(session, order_id="AB12X", shopper_id="s2")  # only among the shopper's own orders
    with pytest.raises(Forbidden):
        orders.get_order(session, order_id="ab12x", shopper_id="s2")


def test_the_exact_id_wins_and_the_owner_decides(session: Session) -> None:
    feed(session, "ab12x", "s1")
    feed(session, "AB12X", "s2")
    assert orders.get_order(session, order_id="AB12X", shopper_id="s1").order_id == "ab12x"
    assert orders.get_order(session, order_id="ab12x", shopper_id="s2").order_id == "AB12X"
    feed(session, "Ab12x", "s1")  # two of s1's orders differ only in case: only the exact id is certain
    assert orders.get_order(session, order_id="Ab12x", shopper_id="s1").order_id == "Ab12x"
    with pytest.raises(NotFound):
        orders.get_order(session, order_id="AB12x", shopper_id="s1")


def test_remedies_are_recorded_under_the_feeds_id(session: Session) -> None:
    feed(session, "ab12x", "s1")
    quote = orders.quote(session, order_id="AB12X", line_id="ab12x-1", quantity=1, shopper_id="s1")
    assert quote.order_id == "ab12x"
    body = RefundIn(shopper_id="s1", order_id="AB12X", line_id="ab12x-1", quantity=1, case_type="not_delivered")
    refund, _ = service.create_refund(session, idempotency_key="k", data=body)
    assert refund.order_id == "ab12x"
    coupon, _ = coupons.issue_coupon(
        session, idempotency_key="c", data=CouponIn(shopper_id="s1", order_id="AB12X", line_id="ab12x-1", quantity=1)
    )
    assert coupon.order_id == "ab12x"
