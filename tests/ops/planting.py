"""Rows planted straight into the tables the /ops figures read, at chosen times (the figures are about the past, so
the tests write the past directly; nothing here goes through the services' rules)."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.gateway.models import Handoff
from bot.refunds.models import Coupon, Order, OrderLine, Refund, Shopper
from bot.trainer.inbox_models import InboxHit, InboxItem
from bot.transcript.models import Conversation, Message

_HIT_SEQ = itertools.count(10_000)


def shopper_and_order(session: Session, *, shopper: str, order: str, lines: list[tuple[str, str | None, int]],
                      at: datetime) -> list[str]:
    """A shopper with an order of lines (sku, merchant, unit price); returns the line ids."""
    if session.get(Shopper, shopper) is None:
        session.add(Shopper(id=shopper, name=shopper, created_at=at))
        session.flush()
    session.add(Order(order_id=order, shopper_id=shopper, placed_at=at, status="delivered"))
    session.flush()
    ids = []
    for n, (sku, merchant, price) in enumerate(lines, start=1):
        ids.append(f"{order}-{n}")
        session.add(OrderLine(line_id=ids[-1], order_id=order, sku=sku, merchant_id=merchant, name=f"商品{sku}",
                              unit_price_cents=price, quantity=1000, remedied_quantity=0, refunded_cents=0))
    session.flush()
    return ids


def refund(session: Session, *, line: str, case_type: str = "damaged", at: datetime, amount: int = 100,
           state: str = "requested", settled_at: datetime | None = None, decided_by: str | None = None,
           conversation: str | None = None) -> str:
    row = session.get(OrderLine, line)
    assert row is not None
    order = session.get(Order, row.order_id)
    assert order is not None
    rid = uuid.uuid4().hex
    session.add(Refund(
        id=rid, idempotency_key=rid, request_hash="planted", shopper_id=order.shopper_id, order_id=row.order_id,
        line_id=line, quantity=1, amount_cents=amount, case_type=case_type, state=state, risk_score=0,
        risk_reasons=[], conversation_id=conversation, decided_by=decided_by, created_at=at, updated_at=at,
        settled_at=settled_at,
    ))
    return rid


def coupon(session: Session, *, line: str, at: datetime, value: int, conversation: str | None) -> None:
    row = session.get(OrderLine, line)
    assert row is not None
    order = session.get(Order, row.order_id)
    assert order is not None
    cid = uuid.uuid4().hex
    session.add(Coupon(id=cid, idempotency_key=cid, request_hash="planted", code=cid[:12], shopper_id=order.shopper_id,
                       order_id=row.order_id, line_id=line, quantity=1, value_cents=value, expires_at=at,
                       conversation_id=conversation, created_at=at))


def conversation(session: Session, cid: str, *, at: datetime, shopper: str = "s1", order: str | None = None) -> None:
    session.add(Conversation(id=cid, shopper_id=shopper, order_id=order, holder="bot", last_seq=0, created_at=at,
                             updated_at=at))
    session.flush()


def message(session: Session, cid: str, *, at: datetime, text: str = "你好", intent: str | None = None,
            sender: str = "shopper") -> int:
    conv = session.get(Conversation, cid)
    assert conv is not None
    conv.last_seq += 1
    nlu: Any = {"intent": intent, "confidence": 0.3 if intent == "nlu_fallback" else 0.9} if intent else None
    session.add(Message(conversation_id=cid, seq=conv.last_seq, sender=sender, text=text, buttons=[], nlu=nlu,
                        created_at=at))
    session.flush()
    return int(conv.last_seq)


def handoff(session: Session, cid: str, *, at: datetime, reason: str) -> None:
    session.add(Handoff(id=uuid.uuid4().hex, conversation_id=cid, reason=reason, status="waiting", created_at=at))


def inbox_hits(session: Session, text: str, cid: str, times: list[datetime]) -> None:
    """`text` misunderstood once at each of `times` (the hits name messages of `cid` that the planted transcript
    does not hold, so they add nothing to the parse counts)."""
    item = InboxItem(text_key=uuid.uuid4().hex, text=text, status="open", hits=len(times), first_seen=min(times),
                     last_seen=max(times))
    session.add(item)
    session.flush()
    for at in times:
        seq = next(_HIT_SEQ)
        session.add(InboxHit(item_id=item.id, conversation_id=cid, message_seq=seq, reason="fallback",
                             intent="nlu_fallback", confidence=0.3, ranking=[], created_at=at))
