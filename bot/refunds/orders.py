"""Orders: the platform's order feed, reads, ownership checks and remedy quotes."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.policy import load_policy
from bot.refunds import schemas
from bot.refunds.errors import Conflict, Forbidden, NotFound
from bot.refunds.ledger import check_quantity, remaining_quantity
from bot.refunds.models import Order, OrderLine, Shopper, utcnow


def coupon_value(refund_cents: int) -> int:
    """Coupon worth refund × multiplier, never below the policy minimum."""
    remedies = load_policy()["remedies"]
    scaled = (Decimal(refund_cents) * Decimal(str(remedies["coupon_multiplier"]))).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    return max(int(scaled), int(remedies["coupon_minimum_cents"]))


def get_order(session: Session, *, order_id: str, shopper_id: str | None = None) -> Order:
    """The order; 404 if unknown, 403 if `shopper_id` is given and the order is someone else's.

    Ids keep the case the feed gave them. Given the shopper, an id typed in another case finds their own
    order (the only one of theirs it names), never someone else's.
    """
    order = session.get(Order, order_id)
    if shopper_id is not None and (order is None or order.shopper_id != shopper_id):
        order = _own_order_in_any_case(session, order_id=order_id, shopper_id=shopper_id) or order
    if order is None:
        raise NotFound("order_not_found", f"order {order_id} does not exist")
    if shopper_id is not None and order.shopper_id != shopper_id:
        raise Forbidden("not_your_order", f"order {order_id} belongs to another shopper")
    return order


def _own_order_in_any_case(session: Session, *, order_id: str, shopper_id: str) -> Order | None:
    stmt = select(Order).where(Order.shopper_id == shopper_id, func.lower(Order.order_id) == order_id.lower())
    found = list(session.execute(stmt.limit(2)).scalars())
    return found[0] if len(found) == 1 else None


def get_line(session: Session, *, order_id: str, line_id: str, shopper_id: str | None = None) -> OrderLine:
    """A line of an order the shopper owns (same 404/403 rules as get_order); `line.order_id` is the feed's id."""
    order = get_order(session, order_id=order_id, shopper_id=shopper_id)
    line = session.get(OrderLine, line_id)
    if line is None or line.order_id != order.order_id:
        raise NotFound("line_not_found", f"order {order_id} has no line {line_id}")
    return line


def lines_of(session: Session, *, order_id: str) -> list[OrderLine]:
    stmt = select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.line_id)
    return list(session.execute(stmt).scalars())


def list_orders(session: Session, *, shopper_id: str, limit: int = 10) -> list[Order]:
    """The shopper's most recent orders first."""
    stmt = (
        select(Order)
        .where(Order.shopper_id == shopper_id)
        .order_by(Order.placed_at.desc(), Order.order_id.desc())
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def create_order(session: Session, *, data: schemas.OrderIn) -> Order:
    """Record an order from the platform feed, creating the shopper on first sight; 409 if it exists."""
    if session.get(Order, data.order_id) is not None:
        raise Conflict("order_exists", f"order {data.order_id} already exists")
    try:
        if session.get(Shopper, data.shopper_id) is None:
            session.add(Shopper(id=data.shopper_id, name=data.shopper_name or data.shopper_id))
            session.flush()
        order = Order(
            order_id=data.order_id,
            shopper_id=data.shopper_id,
            placed_at=data.placed_at or utcnow(),
            status=data.status,
        )
        session.add(order)
        session.flush()
    except IntegrityError as exc:  # the same order (or new shopper) arriving twice at once
        session.rollback()
        raise Conflict("order_exists", f"order {data.order_id} already exists") from exc
    for n, line in enumerate(data.lines, start=1):
        session.add(
            OrderLine(
                line_id=line.line_id or f"{data.order_id}-{n}",
                order_id=data.order_id,
                sku=line.sku,
                merchant_id=line.merchant_id,
                name=line.name,
                unit_price_cents=line.unit_price_cents,
                quantity=line.quantity,
                remedied_quantity=0,
                refunded_cents=0,
            )
        )
    session.commit()
    return order


def order_out(session: Session, order: Order) -> schemas.OrderOut:
    lines = [
        schemas.OrderLineOut(
            line_id=line.line_id,
            sku=line.sku,
            merchant_id=line.merchant_id,
            name=line.name,
            unit_price_cents=line.unit_price_cents,
            quantity=line.quantity,
            remedied_quantity=line.remedied_quantity,
            refunded_cents=line.refunded_cents,
        )
        for line in lines_of(session, order_id=order.order_id)
    ]
    return schemas.OrderOut(
        order_id=order.order_id,
        shopper_id=order.shopper_id,
        placed_at=order.placed_at,
        status=order.status,
        lines=lines,
    )


def quote(
    session: Session, *, order_id: str, line_id: str, quantity: int, shopper_id: str | None = None
) -> schemas.QuoteOut:
    """What a refund and a coupon for `quantity` items would be worth; 409 beyond what is left."""
    line = get_line(session, order_id=order_id, line_id=line_id, shopper_id=shopper_id)
    check_quantity(line, quantity)
    refund_cents = line.unit_price_cents * quantity
    return schemas.QuoteOut(
        order_id=line.order_id,
        line_id=line_id,
        quantity=quantity,
        refund_cents=refund_cents,
        coupon_cents=coupon_value(refund_cents),
        recommended=load_policy()["remedies"]["recommended"],
        max_quantity=remaining_quantity(line),
    )
