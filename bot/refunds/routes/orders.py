"""Orders: the platform feed, reads and remedy quotes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from bot.refunds import orders, schemas
from bot.refunds.deps import SessionDep

router = APIRouter(tags=["orders"])


@router.post("/orders", response_model=schemas.OrderOut, status_code=201)
def create_order(body: schemas.OrderIn, session: SessionDep) -> schemas.OrderOut:
    order = orders.create_order(session, data=body)
    return orders.order_out(session, order)


@router.get("/orders", response_model=list[schemas.OrderOut])
def list_orders(
    session: SessionDep, shopper_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 10
) -> list[schemas.OrderOut]:
    return [
        orders.order_out(session, o) for o in orders.list_orders(session, shopper_id=shopper_id, limit=limit)
    ]


@router.get("/orders/{order_id}", response_model=schemas.OrderOut)
def get_order(order_id: str, session: SessionDep, shopper_id: str | None = None) -> schemas.OrderOut:
    """The order; 404 if unknown, 403 if `shopper_id` is given and the order is someone else's. With `shopper_id`, an
    id in another case finds that shopper's own order (the answer has the id as the feed gave it)."""
    return orders.order_out(session, orders.get_order(session, order_id=order_id, shopper_id=shopper_id))


@router.get("/orders/{order_id}/lines/{line_id}/quote", response_model=schemas.QuoteOut)
def quote(
    order_id: str,
    line_id: str,
    session: SessionDep,
    quantity: Annotated[int, Query(ge=1, le=schemas.MAX_SQL_INT)] = 1,
    shopper_id: str | None = None,
) -> schemas.QuoteOut:
    return orders.quote(session, order_id=order_id, line_id=line_id, quantity=quantity, shopper_id=shopper_id)
