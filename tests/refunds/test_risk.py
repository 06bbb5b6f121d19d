"""Risk scores and reasons from policy.yml, and the 极速退款 fast path."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.policy import load_policy
from bot.refunds import risk, service
from bot.refunds.models import Notification
from bot.refunds.schemas import RefundIn

RISK = load_policy()["risk"]


def damaged_pen(shopper: str, order: str, photo_ids: list[str], key: str) -> RefundIn:
    return RefundIn(
        shopper_id=shopper,
        order_id=order,
        line_id=f"{order}-1",
        quantity=1,
        case_type="damaged",
        photo_ids=photo_ids,
        conversation_id=f"c_{key}",
    )


def codes(refund) -> list[str]:  # type: ignore[no-untyped-def]
    return [r["code"] for r in refund.risk_reasons]


def flip_bits(phash: str, bits: int) -> str:
    return f"{int(phash, 16) ^ ((1 << bits) - 1):016x}"


def test_clean_old_account_is_settled_at_once_with_a_notification(session: Session, evidence) -> None:
    refund, _ = service.create_refund(
        session, idempotency_key="k", data=damaged_pen("s1", "O1001", evidence("s1"), "k")
    )
    assert (refund.risk_score, codes(refund), refund.state) == (0, [], "settled")
    assert refund.decided_by == "system" and refund.settled_at is not None
    notes = session.execute(select(Notification).where(Notification.shopper_id == "s1")).scalars().all()
    assert [(n.kind, n.text, n.refund_id, n.conversation_id) for n in notes] == [
        (
            "refund_settled",
            "极速退款成功！晨光中性笔 0.5mm 黑色×1的退款¥3.50已原路退回到您的支付账户，一般几分钟内到账，请注意查收～",
            refund.id,
            "c_k",
        )
    ]


def test_new_account_adds_points(session: Session, evidence) -> None:
    refund, _ = service.create_refund(
        session, idempotency_key="k", data=damaged_pen("s2", "O2001", evidence("s2"), "k")
    )
    # seed: s2's account is 2 days old, under data/policy.yml's new_account_days 7: new_account_points, 20
    assert codes(refund) == ["new_account"] and refund.risk_score == 20
    assert refund.state == "settled"  # 20 is still under the auto-settle limit of 40


def test_frequent_refunder_goes_to_review_without_notification(session: Session, evidence) -> None:
    refund, _ = service.create_refund(
        session, idempotency_key="k", data=damaged_pen("s3", "O3001", evidence("s3"), "k")
    )
    assert codes(refund) == ["frequent_refunds", "high_refund_rate"]
    # seed: s3 had 4 refunds in the last 30 days (policy.yml window_days), at least refunds_in_window_threshold 3:
    # refunds_in_window_points 30; refunds on 2 of their 3 orders, at least refund_rate_threshold 0.5: 25 more
    assert refund.risk_score == 55
    assert refund.state == "needs_review"
    assert session.execute(select(Notification).where(Notification.shopper_id == "s3")).first() is None


def test_reused_photo_of_another_refund_raises_risk(session: Session, add_photo, evidence) -> None:
    original = add_photo("s1", kind="items", phash="d1c4a0b0f0e0c0a1")
    photos = [*evidence("s1")[:2], original]
    first, _ = service.create_refund(
        session, idempotency_key="a", data=damaged_pen("s1", "O1001", photos, "a")
    )
    assert "reused_photo" not in codes(first)

    near_copy = add_photo(
        "s2", kind="items", phash=flip_bits("d1c4a0b0f0e0c0a1", RISK["photo_hash_max_distance"])
    )
    assert risk.photo_info(session, photo_id=near_copy).reused
    session.rollback()  # end the read so SQLite lets the next writer in
    second, _ = service.create_refund(
        session, idempotency_key="b", data=damaged_pen("s2", "O2001", [*evidence("s2")[:2], near_copy], "b")
    )
    assert codes(second) == ["new_account", "reused_photo"]
    assert second.risk_score == 65  # policy.yml: new_account_points 20 + reused_photo_points 45
    assert second.state == "needs_review"


def test_a_different_photo_is_not_reused(session: Session, add_photo, evidence) -> None:
    original = add_photo("s1", kind="items", phash="d1c4a0b0f0e0c0a1")
    service.create_refund(
        session, idempotency_key="a", data=damaged_pen("s1", "O1001", [*evidence("s1")[:2], original], "a")
    )
    far = add_photo("s2", phash=flip_bits("d1c4a0b0f0e0c0a1", RISK["photo_hash_max_distance"] + 1))
    assert not risk.photo_info(session, photo_id=far).reused
    assert not risk.photo_info(session, photo_id=original).reused  # its own refund does not count
    session.rollback()


def test_large_amount_goes_to_review(session: Session) -> None:
    body = RefundIn(
        shopper_id="s1", order_id="O1002", line_id="O1002-1", quantity=1, case_type="not_delivered"
    )
    refund, _ = service.create_refund(session, idempotency_key="k", data=body)
    assert codes(refund) == ["large_amount"] and refund.state == "needs_review"


def test_missing_evidence_blocks_the_fast_path(session: Session) -> None:
    refund, _ = service.create_refund(session, idempotency_key="k", data=damaged_pen("s1", "O1001", [], "k"))
    assert refund.risk_score == 0 and codes(refund) == ["missing_evidence"]
    assert refund.state == "needs_review"


def test_the_same_photo_on_a_second_refund_is_reuse(session: Session, evidence) -> None:
    photos = evidence("s1")
    first, _ = service.create_refund(session, idempotency_key="a", data=damaged_pen("s1", "O1001", photos, "a"))
    assert codes(first) == [] and not risk.photo_info(session, photo_id=photos[0]).reused  # its own refund
    second, _ = service.create_refund(session, idempotency_key="b", data=damaged_pen("s1", "O1003", photos, "b"))
    assert codes(second) == ["reused_photo"]
    assert second.risk_score == 45 and second.state == "needs_review"  # policy.yml: reused_photo_points 45
    assert risk.photo_info(session, photo_id=photos[0]).reused  # it now backs two refunds
    session.rollback()


def test_refunds_made_at_the_same_moment_each_see_the_other(
    sessions: sessionmaker, seeded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two of one shopper's refunds on different lines at once: the later one counts the earlier in its history."""
    with sessions() as s:  # s1 (clean, 3 orders) already had refunds on O1002 and O1003: the rate is 2/3
        for key, order in (("h1", "O1002"), ("h2", "O1003")):
            earlier, _ = service.create_refund(s, idempotency_key=key, data=not_delivered("s1", f"{order}-2", key))
            assert earlier.state == "settled"

    scored = threading.Barrier(2)
    score_refund = risk.score_refund

    def score_then_wait(*args: Any, **kwargs: Any) -> Any:
        """Each request waits after scoring until the other has scored too (or 2 s): without a lock per
        shopper both count the same history; with one, the second cannot score until the first is in."""
        result = score_refund(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):
            scored.wait(timeout=2)
        return result

    monkeypatch.setattr(risk, "score_refund", score_then_wait)
    made: list[Any] = []

    def create(line_id: str) -> None:
        with sessions() as s:
            refund, _ = service.create_refund(s, idempotency_key=line_id, data=not_delivered("s1", line_id, line_id))
            made.append(refund)

    threads = [threading.Thread(target=create, args=(line,)) for line in ("O1001-1", "O1001-2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    first, second = sorted(made, key=lambda r: r.risk_score)
    # policy.yml: refunds on 3 of 3 orders is high_refund_rate (25); the third refund in 30 days is
    # frequent_refunds (30): 55, at least max_risk 40, so only the first is paid at once
    assert (codes(first), first.state) == (["high_refund_rate"], "settled")
    assert codes(second) == ["frequent_refunds", "high_refund_rate"]
    assert (second.risk_score, second.state) == (55, "needs_review")
    assert second.risk_reasons[0]["detail"] == "近30天已申请退款3次"


def not_delivered(shopper: str, line_id: str, key: str) -> RefundIn:
    return RefundIn(shopper_id=shopper, order_id=line_id.rsplit("-", 1)[0], line_id=line_id, quantity=1,
                    case_type="not_delivered", conversation_id=f"c_{key}")
