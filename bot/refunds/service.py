"""Refunds: creation (idempotent, risk-scored, ledger-checked) and the state machine."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot import metrics
from bot.evidence import store as evidence
from bot.policy import load_policy
from bot.refunds import ledger, risk, schemas
from bot.refunds.errors import Conflict, Invalid, NotFound
from bot.refunds.models import Refund, RefundEvent, RefundPhoto, utcnow
from bot.refunds.notifications import notify_refund_rejected, notify_refund_settled
from bot.refunds.orders import get_line

TRANSITIONS: dict[str, frozenset[str]] = {
    "requested": frozenset({"approved", "needs_review", "rejected"}),
    "approved": frozenset({"settled"}),
    "needs_review": frozenset({"approved", "rejected"}),
    "rejected": frozenset(),
    "settled": frozenset(),
}
SYSTEM = "system"


def _shopper_photos(session: Session, *, shopper_id: str, photo_ids: list[str]) -> list[evidence.StoredPhoto]:
    """The named photos, all of which must exist and belong to the shopper (422 otherwise)."""
    ids = sorted(set(photo_ids))
    if not ids:
        return []
    found = evidence.shopper_photos(session, shopper_id=shopper_id, photo_ids=ids)
    for photo_id in ids:
        if photo_id not in found:
            raise Invalid("photo_not_found", f"photo {photo_id} does not exist or is not this shopper's")
    return [found[i] for i in ids]


def create_refund(
    session: Session, *, idempotency_key: str, data: schemas.RefundIn, now: datetime | None = None
) -> tuple[Refund, bool]:
    """Create a refund, or return the one made earlier under the same key; (refund, created)."""
    now = now or utcnow()
    body = data.dict()
    body["photo_ids"] = sorted(set(body["photo_ids"]))
    digest = ledger.request_hash(body)
    shopper = ledger.lock_shopper(session, data.shopper_id)
    existing = ledger.by_idempotency_key(session, Refund, idempotency_key)
    if existing is not None:
        return ledger.replay(existing, digest), False

    line = get_line(session, order_id=data.order_id, line_id=data.line_id, shopper_id=data.shopper_id)
    ledger.check_quantity(line, data.quantity)
    photos = _shopper_photos(session, shopper_id=data.shopper_id, photo_ids=data.photo_ids)
    assert shopper is not None  # get_line found their order, and the order's foreign key needs the shopper
    amount = line.unit_price_cents * data.quantity  # from the database, never from the caller
    score, reasons, evidence_ok = risk.score_refund(
        session, shopper=shopper, amount_cents=amount, case_type=data.case_type, photos=photos, now=now
    )
    refund = Refund(
        id=ledger.new_id("rf"),
        idempotency_key=idempotency_key,
        request_hash=digest,
        shopper_id=data.shopper_id,
        order_id=line.order_id,  # the feed's id, in its case
        line_id=data.line_id,
        quantity=data.quantity,
        amount_cents=amount,
        case_type=data.case_type,
        state="requested",
        risk_score=score,
        risk_reasons=reasons,
        conversation_id=data.conversation_id,
        created_at=now,
        updated_at=now,
    )
    session.add(refund)
    try:
        session.flush()  # the UNIQUE key decides between concurrent duplicates
    except IntegrityError:
        session.rollback()
        existing = ledger.by_idempotency_key(session, Refund, idempotency_key)
        if existing is None:
            raise
        return ledger.replay(existing, digest), False

    ledger.move_line(session, line_id=line.line_id, quantity=data.quantity, refunded_cents=amount)
    session.add_all(
        RefundPhoto(refund_id=refund.id, photo_id=p.id, phash=p.phash, centre_hash=p.centre_hash) for p in photos
    )
    session.add(
        RefundEvent(refund_id=refund.id, from_state=None, to_state="requested", actor=SYSTEM, created_at=now)
    )
    auto = load_policy()["auto_settle"]
    if evidence_ok and score < int(auto["max_risk"]) and amount <= int(auto["limit_cents"]):
        _move(session, refund, "approved", actor=SYSTEM, reason="极速退款", now=now)
        _settle(session, refund, actor=SYSTEM, now=now)
    else:
        _move(session, refund, "needs_review", actor="risk", reason=_review_reason(score, amount), now=now)
    session.commit()
    metrics.refund_created(case_type=refund.case_type, state=refund.state, amount_cents=refund.amount_cents)
    return refund, True


def _review_reason(score: int, amount: int) -> str:
    auto = load_policy()["auto_settle"]
    parts = [f"risk {score}"]
    if amount > int(auto["limit_cents"]):
        parts.append(f"amount {amount} above auto limit {auto['limit_cents']}")
    return "; ".join(parts)


def _move(
    session: Session, refund: Refund, to: str, *, actor: str, reason: str | None = None, now: datetime
) -> None:
    """One state-machine step, as a compare-and-set UPDATE so concurrent decisions cannot both win."""
    current = refund.state
    if to not in TRANSITIONS[current]:
        raise Conflict("illegal_transition", f"refund {refund.id} cannot go from {current} to {to}")
    values: dict[str, object] = {"state": to, "updated_at": now}
    if to in ("approved", "rejected"):
        values.update(decided_by=actor, reason=reason)
    if to == "settled":
        values["settled_at"] = now
    result = session.execute(
        update(Refund)
        .where(Refund.id == refund.id, Refund.state == current)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.rollback()
        raise Conflict("state_changed", f"refund {refund.id} changed state meanwhile; reload it")
    for key, value in values.items():
        set_committed_value(refund, key, value)  # already written above; no second UPDATE
    session.add(
        RefundEvent(
            refund_id=refund.id, from_state=current, to_state=to, actor=actor, reason=reason, created_at=now
        )
    )
    session.flush()


def _settle(session: Session, refund: Refund, *, actor: str, now: datetime) -> None:
    _move(session, refund, "settled", actor=actor, now=now)
    notify_refund_settled(session, refund, now=now)


def get_refund(session: Session, *, refund_id: str) -> Refund:
    refund = session.get(Refund, refund_id)
    if refund is None:
        raise NotFound("refund_not_found", f"refund {refund_id} does not exist")
    return refund


def list_refunds(session: Session, *, shopper_id: str, limit: int = 50) -> list[Refund]:
    """The shopper's refunds, newest first."""
    stmt = (
        select(Refund)
        .where(Refund.shopper_id == shopper_id)
        .order_by(Refund.created_at.desc(), Refund.id)
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def approve(session: Session, *, refund_id: str, decided_by: str, reason: str | None = None) -> Refund:
    """An agent approves: approved, then settled at once, and the shopper is notified."""
    now = utcnow()
    refund = get_refund(session, refund_id=refund_id)
    _move(session, refund, "approved", actor=decided_by, reason=reason, now=now)
    _settle(session, refund, actor=decided_by, now=now)
    session.commit()
    metrics.refund_decided(decision="approved", case_type=refund.case_type, state=refund.state,
                           amount_cents=refund.amount_cents)
    return refund


def reject(session: Session, *, refund_id: str, decided_by: str, reason: str | None = None) -> Refund:
    """An agent rejects: the quantity and money go back to the order line, the shopper is told."""
    now = utcnow()
    refund = get_refund(session, refund_id=refund_id)
    _move(session, refund, "rejected", actor=decided_by, reason=reason, now=now)
    ledger.move_line(
        session, line_id=refund.line_id, quantity=-refund.quantity, refunded_cents=-refund.amount_cents
    )
    notify_refund_rejected(session, refund, now=now)
    session.commit()
    metrics.refund_decided(decision="rejected", case_type=refund.case_type, state=refund.state, amount_cents=0)
    return refund


def settle(session: Session, *, refund_id: str, decided_by: str = SYSTEM) -> Refund:
    """Pay out an approved refund."""
    refund = get_refund(session, refund_id=refund_id)
    _settle(session, refund, actor=decided_by, now=utcnow())
    session.commit()
    metrics.refund_settled(case_type=refund.case_type, amount_cents=refund.amount_cents)
    return refund


def refund_out(session: Session, refund: Refund) -> schemas.RefundOut:
    events = session.execute(
        select(RefundEvent).where(RefundEvent.refund_id == refund.id).order_by(RefundEvent.id)
    ).scalars()
    photo_ids = session.execute(
        select(RefundPhoto.photo_id).where(RefundPhoto.refund_id == refund.id).order_by(RefundPhoto.photo_id)
    ).scalars()
    return schemas.RefundOut(
        refund_id=refund.id,
        shopper_id=refund.shopper_id,
        order_id=refund.order_id,
        line_id=refund.line_id,
        quantity=refund.quantity,
        amount_cents=refund.amount_cents,
        case_type=refund.case_type,
        state=refund.state,
        risk_score=refund.risk_score,
        risk_reasons=refund.risk_reasons or [],
        conversation_id=refund.conversation_id,
        photo_ids=list(photo_ids),
        created_at=refund.created_at,
        updated_at=refund.updated_at,
        settled_at=refund.settled_at,
        decided_by=refund.decided_by,
        reason=refund.reason,
        events=[
            schemas.RefundEventOut(
                from_state=e.from_state,
                to_state=e.to_state,
                actor=e.actor,
                reason=e.reason,
                created_at=e.created_at,
            )
            for e in events
        ],
    )
