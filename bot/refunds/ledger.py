"""The order-line ledger and idempotency helpers shared by refunds and coupons.

The CHECK constraints on order_lines are the real guard: every remedy moves the line's counters in
the same transaction that inserts the refund or coupon, so the database refuses an over-refund.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.refunds.errors import Conflict, Invalid
from bot.refunds.models import OrderLine, Shopper

Row = TypeVar("Row")


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def request_hash(payload: dict[str, Any]) -> str:
    """A stable digest of a request body, to tell a replay from a different request under one key."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def lock_shopper(session: Session, shopper_id: str) -> Shopper | None:
    """Take the shopper's remedies (refunds and coupons) one at a time, until this transaction ends. Call it first,
    before the idempotency-key lookup: a concurrent duplicate then waits for the first request to commit and finds
    its key (a replay), instead of finding no key yet and then the line's quantity already taken (409). A refund's
    risk also counts the shopper's history, so one created at the same moment must wait for the other to be in it.
    PostgreSQL locks the shopper's row (FOR NO KEY UPDATE: inserts that merely reference the shopper are not held
    up); SQLite's BEGIN IMMEDIATE (bot/db.py) already runs one writer at a time, and the lock clause is left out
    there."""
    stmt = select(Shopper).where(Shopper.id == shopper_id).with_for_update(key_share=True)
    return session.execute(stmt).scalar_one_or_none()


def by_idempotency_key(session: Session, model: type[Row], key: str) -> Row | None:
    return session.execute(select(model).where(model.idempotency_key == key)).scalar_one_or_none()  # type: ignore[attr-defined]


def replay(row: Row, digest: str) -> Row:
    """Return the first result for a repeated key, or refuse when the body differs."""
    if row.request_hash != digest:  # type: ignore[attr-defined]
        raise Invalid(
            "idempotency_key_reused",
            "this Idempotency-Key was already used with a different request body",
        )
    return row


def remaining_quantity(line: OrderLine) -> int:
    return int(line.quantity) - int(line.remedied_quantity)


def check_quantity(line: OrderLine, quantity: int) -> None:
    left = remaining_quantity(line)
    if quantity > left:
        raise Conflict(
            "quantity_exceeded",
            f"only {left} of {line.quantity} item(s) on line {line.line_id} can still be remedied",
        )


def move_line(session: Session, *, line_id: str, quantity: int, refunded_cents: int) -> None:
    """Add (or, with negative numbers, give back) quantity and money on a line; 409 if the DB refuses."""
    stmt = (
        update(OrderLine)
        .where(OrderLine.line_id == line_id)
        .values(
            remedied_quantity=OrderLine.remedied_quantity + quantity,
            refunded_cents=OrderLine.refunded_cents + refunded_cents,
        )
        .execution_options(synchronize_session=False)
    )
    try:
        session.execute(stmt)
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("quantity_exceeded", f"line {line_id} has no quantity left for this request") from exc
