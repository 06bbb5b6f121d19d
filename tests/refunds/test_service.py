"""Refund creation and the state machine, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bot.refunds import service
from bot.refunds.errors import Conflict, Forbidden, Invalid, NotFound
from bot.refunds.models import Notification, OrderLine, Refund, RefundEvent
from bot.refunds.schemas import RefundIn


def pen_refund(shopper: str = "s1", order: str = "O1001", quantity: int = 1, **extra: object) -> RefundIn:
    body = {
        "shopper_id": shopper,
        "order_id": order,
        "line_id": f"{order}-1",
        "quantity": quantity,
        "case_type": "not_delivered",
        "conversation_id": "c1",
        **extra,
    }
    return RefundIn(**body)


def line(session: Session, line_id: str) -> OrderLine:
    session.expire_all()
    row = session.get(OrderLine, line_id)
    assert row is not None
    return row


def in_review(session: Session) -> Refund:
    """s3 (serial refunder) asks for a pen: risky, so it waits for an agent."""
    refund, _ = service.create_refund(session, idempotency_key="k-review", data=pen_refund("s3", "O3001"))
    assert refund.state == "needs_review"
    return refund


def test_amount_comes_from_the_order_line(session: Session) -> None:
    refund, created = service.create_refund(session, idempotency_key="k1", data=pen_refund(quantity=2))
    assert created and refund.amount_cents == 700
    pen = line(session, "O1001-1")
    assert (pen.remedied_quantity, pen.refunded_cents) == (2, 700)


def test_replay_returns_the_first_refund_and_moves_the_line_once(session: Session) -> None:
    first, created = service.create_refund(session, idempotency_key="same", data=pen_refund())
    again, created_again = service.create_refund(session, idempotency_key="same", data=pen_refund())
    assert created and not created_again and again.id == first.id
    assert line(session, "O1001-1").remedied_quantity == 1
    assert session.execute(select(Refund).where(Refund.line_id == "O1001-1")).scalars().all() == [again]


def test_same_key_with_a_different_body_is_422(session: Session) -> None:
    service.create_refund(session, idempotency_key="same", data=pen_refund())
    with pytest.raises(Invalid) as err:
        service.create_refund(session, idempotency_key="same", data=pen_refund(quantity=2))
    assert err.value.status == 422 and err.value.code == "idempotency_key_reused"


def test_order_of_another_shopper_is_403_and_unknown_is_404(session: Session) -> None:
    with pytest.raises(Forbidden):
        service.create_refund(session, idempotency_key="a", data=pen_refund("s2", "O1001"))
    with pytest.raises(NotFound):
        service.create_refund(session, idempotency_key="b", data=pen_refund("s1", "O9999"))
    with pytest.raises(NotFound):
        service.create_refund(session, idempotency_key="c", data=pen_refund(line_id="O2001-1"))
    assert session.execute(select(Refund).where(Refund.shopper_id != "s3")).first() is None


def test_quantity_beyond_what_is_left_is_409(session: Session) -> None:
    service.create_refund(session, idempotency_key="a", data=pen_refund(quantity=10))
    with pytest.raises(Conflict) as err:
        service.create_refund(session, idempotency_key="b", data=pen_refund(quantity=3))
    assert err.value.code == "quantity_exceeded"
    service.create_refund(session, idempotency_key="c", data=pen_refund(quantity=2))
    assert line(session, "O1001-1").remedied_quantity == 12


def test_photos_must_exist_and_be_the_shoppers(session: Session, add_photo) -> None:
    theirs = add_photo("s2")
    with pytest.raises(Invalid):
        service.create_refund(session, idempotency_key="a", data=pen_refund(photo_ids=[theirs]))
    with pytest.raises(Invalid):
        service.create_refund(session, idempotency_key="b", data=pen_refund(photo_ids=["0" * 32]))
    assert line(session, "O1001-1").remedied_quantity == 0


def test_agent_approval_settles_and_notifies(session: Session) -> None:
    refund = in_review(session)
    service.approve(session, refund_id=refund.id, decided_by="agent7", reason="照片清楚")
    assert (refund.state, refund.decided_by) == ("settled", "agent7") and refund.settled_at is not None
    events = session.execute(
        select(RefundEvent.to_state, RefundEvent.actor)
        .where(RefundEvent.refund_id == refund.id)
        .order_by(RefundEvent.id)
    ).all()
    assert events == [
        ("requested", "system"),
        ("needs_review", "risk"),
        ("approved", "agent7"),
        ("settled", "agent7"),
    ]
    notes = session.execute(
        select(Notification.kind, Notification.text, Notification.conversation_id).where(
            Notification.refund_id == refund.id
        )
    ).all()
    assert notes == [
        (
            "refund_settled",
            "您的退款申请已审核通过，晨光中性笔 0.5mm 黑色×1的退款¥3.50已原路退回到您的支付账户，"
            "请注意查收～",
            "c1",
        )
    ]


def test_reject_gives_the_quantity_and_money_back(session: Session) -> None:
    assert line(session, "O3001-1").remedied_quantity == 0
    refund = in_review(session)
    pen = line(session, "O3001-1")
    assert (pen.remedied_quantity, pen.refunded_cents) == (1, 350)
    service.reject(session, refund_id=refund.id, decided_by="agent7", reason="照片不清楚")
    after = line(session, "O3001-1")
    assert (after.remedied_quantity, after.refunded_cents) == (0, 0)
    assert refund.state == "rejected" and refund.reason == "照片不清楚"
    with pytest.raises(Conflict):
        service.approve(session, refund_id=refund.id, decided_by="agent7")
    notes = session.execute(
        select(Notification.kind, Notification.text, Notification.conversation_id).where(
            Notification.refund_id == refund.id
        )
    ).all()
    assert notes == [
        (
            "refund_rejected",
            "很抱歉，您的退款申请（晨光中性笔 0.5mm 黑色×1，¥3.50）未通过审核。原因：照片不清楚。"
            "如有异议可以回复「申诉」。",
            "c1",
        )
    ]


def test_waiting_for_review_writes_no_notification(session: Session) -> None:
    """No money moved: the bot (or agent) holding the chat says so itself, the outbox stays quiet."""
    refund = in_review(session)
    assert session.execute(select(Notification).where(Notification.refund_id == refund.id)).first() is None


@pytest.mark.parametrize("action", ["approve", "reject", "settle"])
def test_no_way_out_of_settled(session: Session, action: str) -> None:
    refund, _ = service.create_refund(session, idempotency_key="fast", data=pen_refund())
    assert refund.state == "settled"
    with pytest.raises(Conflict) as err:
        if action == "settle":
            service.settle(session, refund_id=refund.id)
        else:
            getattr(service, action)(session, refund_id=refund.id, decided_by="agent7")
    assert err.value.code == "illegal_transition"
    assert line(session, "O1001-1").remedied_quantity == 1
    session.expire_all()
    assert service.get_refund(session, refund_id=refund.id).state == "settled"


def test_settle_pays_an_approved_refund_once(session: Session) -> None:
    refund = in_review(session)
    # an approval whose settlement did not happen (e.g. a crash between the steps)
    session.execute(text("UPDATE refunds SET state = 'approved' WHERE id = :id"), {"id": refund.id})
    session.commit()
    session.expire_all()
    settled = service.settle(session, refund_id=refund.id, decided_by="agent7")
    assert settled.state == "settled"
    with pytest.raises(Conflict):
        service.settle(session, refund_id=refund.id)


def test_needs_review_cannot_skip_to_settled(session: Session) -> None:
    refund = in_review(session)
    with pytest.raises(Conflict):
        service.settle(session, refund_id=refund.id)


def test_unknown_refund_is_404(session: Session) -> None:
    with pytest.raises(NotFound):
        service.get_refund(session, refund_id="rf_nope")


def test_a_notification_id_is_never_handed_out_twice(session: Session) -> None:
    # The gateway keys the chat message that told a notice on its id: a reused id would read as told already.
    from bot.refunds.notifications import notify

    notify(session, shopper_id="s1", kind="coupon_issued", text="第一条", conversation_id="c_a")
    session.commit()
    first = session.execute(select(Notification.id).where(Notification.text == "第一条")).scalar_one()
    session.execute(text("DELETE FROM notifications WHERE id = :id"), {"id": first})
    session.commit()
    notify(session, shopper_id="s1", kind="coupon_issued", text="第二条", conversation_id="c_a")
    session.commit()
    second = session.execute(select(Notification.id).where(Notification.text == "第二条")).scalar_one()
    assert second > first
