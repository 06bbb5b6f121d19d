"""Risk scoring of a refund request from the `risk` section of data/policy.yml."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, any_, bindparam, distinct, func, literal_column, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from bot.evidence import store as evidence
from bot.policy import evidence_for, load_policy
from bot.refunds import messages, schemas
from bot.refunds.errors import NotFound
from bot.refunds.models import Order, Refund, RefundPhoto, Shopper

_BANDS = (RefundPhoto.band0, RefundPhoto.band1, RefundPhoto.band2)
_CENTRE_BANDS = (RefundPhoto.cband0, RefundPhoto.cband1, RefundPhoto.cband2)
assert len(_BANDS) == len(_CENTRE_BANDS) == evidence.BANDS, "one indexed column per band of the evidence store"


def _one_of(column: Any, values: frozenset[int], dialect: str) -> Any:
    """`column IN values` for the few hundred keys a photo is probed under, passed as one parameter: thousands of
    separate bound parameters cost more to bind than the index lookups themselves (benchmarks/photo_reuse.py)."""
    keys = sorted(values)
    if dialect == "postgresql":
        return column == any_(bindparam(None, value=keys, type_=ARRAY(Integer), unique=True))
    if dialect == "sqlite":
        return column.in_(select(literal_column("value")).select_from(func.json_each(json.dumps(keys))))
    return column.in_(keys)


def reused_photo_ids(session: Session, photos: list[evidence.StoredPhoto], *, own_refunds: int = 0) -> list[str]:
    """Ids of `photos` that already back another refund: the photo itself (same id) attached to more than
    `own_refunds` refunds, or a near copy of it (another photo id) attached to any.

    Which photos back which refund is ours (refund_photos keeps each attached photo's id and hash); whether two
    pictures are the same is the evidence store's (`near_duplicates`). For a refund being created none is its own
    yet (0); a photo looked up on its own counts its first refund as its own (1).
    """
    if not photos:
        return []
    keys = evidence.near_duplicate_keys(photos)
    dialect = session.get_bind().dialect.name
    lookups = [_one_of(column, values, dialect) for column, values in zip(_BANDS, keys.full, strict=True)]
    lookups += [_one_of(col, values, dialect) for col, values in zip(_CENTRE_BANDS, keys.centre, strict=True) if values]
    candidates = session.execute(
        select(RefundPhoto.photo_id, RefundPhoto.phash, RefundPhoto.centre_hash).where(or_(*lookups))
    ).all()
    # Every attachment of one of `photos` is among the candidates (same hash, so the same bands): one row each.
    uses = Counter(photo_id for photo_id, _, _ in candidates)
    copies = set(evidence.near_duplicates(photos, [tuple(row) for row in candidates]))
    return [photo.id for photo in photos if uses[photo.id] > own_refunds or photo.id in copies]


@dataclass(frozen=True)
class Signals:
    """What the risk rules look at for one refund request, before any policy threshold or points are applied: the
    raw measurements, so that `score` is a pure function of them and the policy (benchmarks/fraud.py fits the policy's
    numbers on these)."""

    earlier_refund_days: tuple[float, ...]  # how many days ago each of the shopper's earlier refunds was requested
    orders: int
    refunded_orders: int
    account_age: timedelta
    amount_cents: int
    reused_photo_id: str | None  # the first photo that already backs another refund (or a near copy of it does)
    missing_kinds: tuple[str, ...]  # photo kinds the case type needs that were not sent


def measure(
    session: Session,
    *,
    shopper: Shopper,
    amount_cents: int,
    case_type: str,
    photos: list[evidence.StoredPhoto],
    now: datetime,
) -> Signals:
    """The signals of a refund about to be created (reads only)."""
    created = session.execute(select(Refund.created_at).where(Refund.shopper_id == shopper.id)).scalars()
    orders = session.execute(
        select(func.count(Order.order_id)).where(Order.shopper_id == shopper.id)
    ).scalar_one()
    refunded_orders = session.execute(
        select(func.count(distinct(Refund.order_id))).where(Refund.shopper_id == shopper.id)
    ).scalar_one()
    reused = reused_photo_ids(session, photos)
    sent = {p.kind for p in photos}
    return Signals(
        earlier_refund_days=tuple((now - at).total_seconds() / 86400 for at in created),
        orders=int(orders),
        refunded_orders=int(refunded_orders),
        account_age=now - shopper.created_at,
        amount_cents=amount_cents,
        reused_photo_id=reused[0] if reused else None,
        missing_kinds=tuple(kind for kind in evidence_for(case_type) if kind not in sent),
    )


def score(signals: Signals, cfg: dict[str, Any]) -> tuple[int, list[dict[str, str]]]:
    """(score 0-100, reasons) of the signals under the policy's `risk` section `cfg`. A reason is listed for every
    rule that fired, with its points (0 points still names the finding for the agent)."""
    total = 0
    reasons: list[dict[str, str]] = []

    def add(points: int, code: str, **values: object) -> None:
        nonlocal total
        total += int(points)
        reasons.append({"code": code, "detail": messages.risk_detail(code, **values)})

    recent = sum(1 for days in signals.earlier_refund_days if days <= float(cfg["window_days"]))
    if recent >= int(cfg["refunds_in_window_threshold"]):
        add(cfg["refunds_in_window_points"], "frequent_refunds", days=cfg["window_days"], count=recent)
    rate = signals.refunded_orders / signals.orders if signals.orders else 0.0
    if signals.refunded_orders and rate >= float(cfg["refund_rate_threshold"]):
        add(cfg["refund_rate_points"], "high_refund_rate", rate=rate)
    if signals.account_age < timedelta(days=float(cfg["new_account_days"])):
        add(cfg["new_account_points"], "new_account", days=signals.account_age.days)
    if signals.amount_cents >= int(cfg["large_amount_cents"]):
        add(cfg["large_amount_points"], "large_amount", amount=messages.yuan(signals.amount_cents))
    if signals.reused_photo_id is not None:  # one reused photo is the signal; more of them do not make it likelier
        add(cfg["reused_photo_points"], "reused_photo", photo_id=signals.reused_photo_id)
    if signals.missing_kinds:
        reasons.append(
            {
                "code": "missing_evidence",
                "detail": messages.risk_detail("missing_evidence", kinds=", ".join(signals.missing_kinds)),
            }
        )
    return min(total, 100), reasons


def score_refund(
    session: Session,
    *,
    shopper: Shopper,
    amount_cents: int,
    case_type: str,
    photos: list[evidence.StoredPhoto],
    now: datetime,
) -> tuple[int, list[dict[str, str]], bool]:
    """Return (score 0-100, reasons, evidence_complete) for a refund about to be created."""
    signals = measure(session, shopper=shopper, amount_cents=amount_cents, case_type=case_type, photos=photos, now=now)
    points, reasons = score(signals, load_policy()["risk"])
    return points, reasons, not signals.missing_kinds


def photo_info(session: Session, *, photo_id: str) -> schemas.PhotoOut:
    """Who uploaded a photo, and whether it (or a near copy) is already attached to a refund."""
    photo = evidence.get_photo(session, photo_id)
    if photo is None:
        raise NotFound("photo_not_found", f"photo {photo_id} does not exist")
    return schemas.PhotoOut(
        photo_id=photo.id,
        shopper_id=photo.shopper_id,
        conversation_id=photo.conversation_id,
        kind=photo.kind,
        reused=bool(reused_photo_ids(session, [photo], own_refunds=1)),
    )
