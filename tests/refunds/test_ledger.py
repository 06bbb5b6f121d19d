"""The database itself refuses over-refunds, whatever the code does."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.refunds import service
from bot.refunds.schemas import RefundIn

OVER_REFUNDS = [
    "UPDATE order_lines SET refunded_cents = unit_price_cents * quantity + 1 WHERE line_id = 'O1001-1'",
    "UPDATE order_lines SET refunded_cents = refunded_cents + 4201 WHERE line_id = 'O1001-1'",
    "UPDATE order_lines SET remedied_quantity = quantity + 1 WHERE line_id = 'O1001-1'",
    "UPDATE order_lines SET remedied_quantity = -1 WHERE line_id = 'O1001-1'",
    "UPDATE order_lines SET refunded_cents = -1 WHERE line_id = 'O1001-1'",
]


@pytest.mark.parametrize("sql", OVER_REFUNDS)
def test_raw_sql_over_refund_fails(engine: Engine, seeded: None, sql: str) -> None:
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text(sql))
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT remedied_quantity, refunded_cents FROM order_lines WHERE line_id = 'O1001-1'")
        )
        assert tuple(row.one()) == (0, 0)


def test_paying_exactly_the_full_line_is_allowed(engine: Engine, seeded: None) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE order_lines SET refunded_cents = 4200, remedied_quantity = 12 "
                "WHERE line_id = 'O1001-1'"
            )
        )


def test_refund_rolls_back_when_the_database_refuses_the_line(engine: Engine, session: Session) -> None:
    # Money already paid outside this service: the DB check must stop a refund the code thinks is fine.
    with engine.begin() as conn:
        conn.execute(text("UPDATE order_lines SET refunded_cents = 4000 WHERE line_id = 'O1001-1'"))
    body = RefundIn(
        shopper_id="s1", order_id="O1001", line_id="O1001-1", quantity=1, case_type="not_delivered"
    )
    with pytest.raises(service.Conflict):
        service.create_refund(session, idempotency_key="k", data=body)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM refunds WHERE shopper_id = 's1'")).scalar_one() == 0
