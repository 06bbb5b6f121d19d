"""Demo shoppers, orders and refund history: `python -m bot.refunds.seed` (safe to run again).

s1 小明: old account, clean history. s2 小红: account two days old. s3 阿强: serial refunder.
Each has a line of 晨光中性笔 so the same request shows three different risk scores.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.refunds.models import Order, OrderLine, Refund, RefundEvent, Shopper, utcnow

PEN = ("PEN-MG-05-BK", "晨光中性笔 0.5mm 黑色", 350)

# shopper id, name, account age in days
SHOPPERS = [("s1", "小明", 900), ("s2", "小红", 2), ("s3", "阿强", 400)]

# order id, shopper, placed days ago, status, lines (sku, name, unit price cents, quantity)
ORDERS = [
    (
        "O1001",
        "s1",
        3,
        "delivered",
        [
            (*PEN, 12),
            ("NB-DL-A5", "得力 A5 笔记本 80页", 1290, 3),
            ("CUP-TM-500", "膳魔师保温杯 500ml", 15900, 1),
        ],
    ),
    (
        "O1002",
        "s1",
        20,
        "delivered",
        [
            ("EAR-ED-W1", "漫步者无线蓝牙耳机", 29900, 1),
            ("CASE-IP15-CL", "iPhone 15 透明手机壳", 2990, 2),
        ],
    ),
    (
        "O1003",
        "s1",
        45,
        "delivered",
        [
            ("SNK-SZS-GB", "三只松鼠坚果礼盒 1.5kg", 8900, 1),
            ("TIS-QJ-3P", "清风抽纸 3层 24包", 4590, 1),
        ],
    ),
    (
        "O2001",
        "s2",
        1,
        "delivered",
        [
            (*PEN, 10),
            ("TS-UQ-WM", "优衣库纯棉T恤 白色 M", 7900, 2),
        ],
    ),
    (
        "O2002",
        "s2",
        1,
        "shipped",
        [
            ("CASE-HW-P60", "华为 P60 硅胶手机壳", 3900, 1),
            ("SNK-LS-YW", "乐事薯片 原味 70g", 790, 6),
        ],
    ),
    (
        "O3001",
        "s3",
        2,
        "delivered",
        [
            (*PEN, 12),
            ("SNK-WW-XB", "旺旺雪饼 520g", 1990, 2),
        ],
    ),
    (
        "O3002",
        "s3",
        25,
        "delivered",
        [
            ("EAR-XM-AIR", "小米蓝牙耳机 Air", 19900, 1),
            ("TS-HX-BK", "海澜之家T恤 黑色 L", 5900, 3),
        ],
    ),
    (
        "O3003",
        "s3",
        28,
        "delivered",
        [
            ("CASE-XM-14", "小米 14 磨砂手机壳", 2500, 2),
            ("NB-MUJI-B5", "无印良品 B5 笔记本", 1200, 5),
        ],
    ),
]

# s3's history: key, order, line number, quantity, case type, days ago (all settled)
S3_REFUNDS = [
    ("seed-s3-1", "O3002", 1, 1, "damaged", 3),
    ("seed-s3-2", "O3002", 2, 1, "not_as_described", 8),
    ("seed-s3-3", "O3003", 1, 1, "wrong_item", 12),
    ("seed-s3-4", "O3003", 2, 2, "missing_item", 20),
]


def seed(session: Session, *, now: datetime | None = None) -> None:
    """Insert what is missing; rows already there are left alone."""
    now = now or utcnow()
    for shopper_id, name, age_days in SHOPPERS:
        if session.get(Shopper, shopper_id) is None:
            session.add(Shopper(id=shopper_id, name=name, created_at=now - timedelta(days=age_days)))
    session.flush()
    for order_id, shopper_id, days_ago, status, lines in ORDERS:
        if session.get(Order, order_id) is not None:
            continue
        session.add(
            Order(
                order_id=order_id,
                shopper_id=shopper_id,
                placed_at=now - timedelta(days=days_ago),
                status=status,
            )
        )
        session.flush()
        for n, (sku, name, price, quantity) in enumerate(lines, start=1):
            session.add(
                OrderLine(
                    line_id=f"{order_id}-{n}",
                    order_id=order_id,
                    sku=sku,
                    name=name,
                    unit_price_cents=price,
                    quantity=quantity,
                    remedied_quantity=0,
                    refunded_cents=0,
                )
            )
    session.flush()
    for key, order_id, line_no, quantity, case_type, days_ago in S3_REFUNDS:
        if session.query(Refund).filter_by(idempotency_key=key).first() is not None:
            continue
        line = session.get(OrderLine, f"{order_id}-{line_no}")
        assert line is not None
        at = now - timedelta(days=days_ago)
        amount = line.unit_price_cents * quantity
        refund = Refund(
            id=f"rf_{key}",
            idempotency_key=key,
            request_hash="seed",
            shopper_id="s3",
            order_id=order_id,
            line_id=line.line_id,
            quantity=quantity,
            amount_cents=amount,
            case_type=case_type,
            state="settled",
            risk_score=0,
            risk_reasons=[],
            decided_by="system",
            reason="历史退款",
            created_at=at,
            updated_at=at,
            settled_at=at,
        )
        session.add(refund)
        line.remedied_quantity += quantity
        line.refunded_cents += amount
        session.flush()
        session.add(
            RefundEvent(refund_id=refund.id, from_state=None, to_state="settled", actor="seed", created_at=at)
        )
    session.commit()


def main() -> None:
    from bot.db import session_scope
    from bot.migrate import upgrade_to_head

    upgrade_to_head()
    with session_scope() as session:
        seed(session)
    print("seeded shoppers s1 s2 s3 and orders", ", ".join(o[0] for o in ORDERS))


if __name__ == "__main__":
    main()
