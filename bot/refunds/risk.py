"""Risk scoring of a refund request from the `risk` section of data/policy.yml."""

from __future__ import annotations

import json
from collections import Counter
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
assert len(_BANDS) == evidence.BANDS, "refund_photos keeps one indexed column per band of the evidence store"


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
    candidates = session.execute(
        select(RefundPhoto.photo_id, RefundPhoto.phash).where(
            or_(*(_one_of(column, values, dialect) for column, values in zip(_BANDS, keys, strict=True)))
        )
    ).all()
    # Every attachment of one of `photos` is among the candidates (same hash, so the same bands): one row each.
    uses = Counter(photo_id for photo_id, _ in candidates)
    copies = set(evidence.near_duplicates(photos, [(photo_id, phash) for photo_id, phash in candidates]))
    return [photo.id for photo in photos if uses[photo.id] > own_refunds or photo.id in copies]


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
    cfg = load_policy()["risk"]
    score = 0
    reasons: list[dict[str, str]] = []

    def add(points: int, code: str, **values: object) -> None:
        nonlocal score
        score += int(points)
        reasons.append({"code": code, "detail": messages.risk_detail(code, **values)})

    since = now - timedelta(days=int(cfg["window_days"]))
    recent = session.execute(
        select(func.count(Refund.id)).where(Refund.shopper_id == shopper.id, Refund.created_at >= since)
    ).scalar_one()
    if recent >= int(cfg["refunds_in_window_threshold"]):
        add(cfg["refunds_in_window_points"], "frequent_refunds", days=cfg["window_days"], count=recent)

    orders = session.execute(
        select(func.count(Order.order_id)).where(Order.shopper_id == shopper.id)
    ).scalar_one()
    refunded_orders = session.execute(
        select(func.count(distinct(Refund.order_id))).where(Refund.shopper_id == shopper.id)
    ).scalar_one()
    rate = refunded_orders / orders if orders else 0.0
    if refunded_orders and rate >= float(cfg["refund_rate_threshold"]):
        add(cfg["refund_rate_points"], "high_refund_rate", rate=rate)

    age = now - shopper.created_at
    if age < timedelta(days=int(cfg["new_account_days"])):
        add(cfg["new_account_points"], "new_account", days=age.days)

    if amount_cents >= int(cfg["large_amount_cents"]):
        add(cfg["large_amount_points"], "large_amount", amount=messages.yuan(amount_cents))

    for photo_id in reused_photo_ids(session, photos):
        add(cfg["reused_photo_points"], "reused_photo", photo_id=photo_id)
        break  # one reused photo is the signal; more of them do not make it likelier

    missing = [kind for kind in evidence_for(case_type) if kind not in {p.kind for p in photos}]
    if missing:
        reasons.append(
            {
                "code": "missing_evidence",
                "detail": messages.risk_detail("missing_evidence", kinds=", ".join(missing)),
            }
        )
    return min(score, 100), reasons, not missing


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
