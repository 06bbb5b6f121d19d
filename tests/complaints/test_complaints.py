"""Complaints: categorised by the keyword file, one ticket per idempotency key, on real databases."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.refunds.complaints.service import KeyReused, categorise, create_complaint


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("我要投诉你们的快递，三天了还没派送", "logistics"),
        ("退款申请了一周钱还没到账，投诉！", "refund"),
        ("客服态度太差了", "service"),
        ("这就是假货，质量太差", "quality"),
        ("我就是想投诉", "other"),
    ],
)
def test_complaints_are_categorised_by_keywords(text: str, category: str) -> None:
    assert categorise(text)[0] == category


def test_one_ticket_per_key_and_a_reused_key_is_refused(engine: Engine) -> None:
    with Session(engine) as session:
        first, created = create_complaint(session, shopper_id="s1", conversation_id="c1",
                                          text="快递太慢了", idempotency_key="k1")
        again, created_again = create_complaint(session, shopper_id="s1", conversation_id="c1",
                                                text="快递太慢了", idempotency_key="k1")
        assert created and not created_again
        assert again.ticket == first.ticket and first.ticket.startswith("TS")
        assert first.category == "logistics"
        with pytest.raises(KeyReused):
            create_complaint(session, shopper_id="s1", conversation_id="c1", text="别的事",
                             idempotency_key="k1")
