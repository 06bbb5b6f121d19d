"""The risk rules as pure functions of the measured signals (bot/refunds/risk.py `score`), and a cropped copy of a
photo in use raising a real refund's risk, with photos stored through the evidence store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from bot.evidence import store as evidence
from bot.policy import load_policy
from bot.refunds import risk, service
from bot.settings import get_settings
from tests.evidence import products
from tests.refunds.test_risk import codes, damaged_pen

RISK = load_policy()["risk"]
MAX_RISK = int(load_policy()["auto_settle"]["max_risk"])


def signals(**changes: object) -> risk.Signals:
    clean = risk.Signals(earlier_refund_days=(), orders=10, refunded_orders=0, account_age=timedelta(days=400),
                         amount_cents=350, reused_photo_id=None, missing_kinds=())
    return risk.Signals(**{**clean.__dict__, **changes})  # type: ignore[arg-type]


def test_a_clean_request_scores_nothing() -> None:
    assert risk.score(signals(), RISK) == (0, [])


def test_each_rule_adds_its_policy_points() -> None:
    window = float(RISK["window_days"])
    many = tuple([window / 2] * int(RISK["refunds_in_window_threshold"]))
    cases = {
        "frequent_refunds": (signals(earlier_refund_days=many), RISK["refunds_in_window_points"]),
        "new_account": (signals(account_age=timedelta(days=float(RISK["new_account_days"]) / 2)),
                        RISK["new_account_points"]),
        "large_amount": (signals(amount_cents=int(RISK["large_amount_cents"])), RISK["large_amount_points"]),
        "reused_photo": (signals(reused_photo_id="a" * 32), RISK["reused_photo_points"]),
    }
    for code, (measured, points) in cases.items():
        total, reasons = risk.score(measured, RISK)
        assert [r["code"] for r in reasons] == [code] and total == min(100, int(points)), code


def test_refunds_outside_the_window_do_not_count() -> None:
    old = tuple([float(RISK["window_days"]) + 1] * 10)
    assert risk.score(signals(earlier_refund_days=old), RISK) == (0, [])


def test_a_reused_photo_alone_sends_a_request_to_review() -> None:
    """The policy's points were chosen so that reuse, the strongest sign in the benchmark, is never paid at once."""
    assert risk.score(signals(reused_photo_id="a" * 32), RISK)[0] >= MAX_RISK


@pytest.fixture
def photo_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield get_settings().photo_dir
    get_settings.cache_clear()


def _upload(session: Session, shopper: str, data: bytes, kind: str) -> str:
    photo = evidence.store_photo(session, data=data, kind=kind, shopper_id=shopper, conversation_id="c1")
    session.commit()
    return photo.id


def test_a_cropped_copy_of_another_shoppers_photo_is_reuse(session: Session, photo_dir) -> None:
    shot = products.jpeg(products.shot(3, "s1-pen"))
    kinds = ("package", "label", "items")
    first = [_upload(session, "s1", products.jpeg(products.shot(100 + i, "s1")), k) for i, k in enumerate(kinds[:2])]
    first.append(_upload(session, "s1", shot, "items"))
    refund, _ = service.create_refund(session, idempotency_key="a", data=damaged_pen("s1", "O1001", first, "a"))
    assert "reused_photo" not in codes(refund)

    mine = [_upload(session, "s2", products.jpeg(products.shot(200 + i, "s2")), k) for i, k in enumerate(kinds[:2])]
    honest = [*mine, _upload(session, "s2", products.jpeg(products.shot(3, "s2-pen")), "items")]  # the same pen
    other, _ = service.create_refund(session, idempotency_key="b", data=damaged_pen("s2", "O2001", honest, "b"))
    assert "reused_photo" not in codes(other)

    fresh = [_upload(session, "s2", products.jpeg(products.shot(300 + i, "s2")), k) for i, k in enumerate(kinds[:2])]
    cropped = [*fresh, _upload(session, "s2", products.edited(shot, "crop", seed=5), "items")]
    copy, _ = service.create_refund(session, idempotency_key="c", data=damaged_pen("s2", "O2002", cropped, "c"))
    assert "reused_photo" in codes(copy) and copy.state == "needs_review"
    assert copy.risk_reasons[codes(copy).index("reused_photo")]["detail"].endswith(f"（{cropped[-1]}）")


def test_photos_kept_before_0009_get_their_centre_hash(db_url: str, engine, session: Session, photo_dir) -> None:
    from alembic import command
    from sqlalchemy import text

    from bot.migrate import alembic_config, upgrade_to_head

    ids = [_upload(session, "s1", products.jpeg(products.shot(400 + i, "s1")), k)
           for i, k in enumerate(("package", "label", "items"))]
    service.create_refund(session, idempotency_key="a", data=damaged_pen("s1", "O1001", ids, "a"))
    query = "SELECT photo_id, centre_hash, cband0, cband1, cband2 FROM refund_photos ORDER BY photo_id"
    with engine.connect() as conn:
        before = conn.execute(text(query)).all()
    assert len(before) == 3 and all(row[1] is not None for row in before)
    session.close()
    engine.dispose()

    command.downgrade(alembic_config(db_url), "0008_ops_indexes")  # the tables as they were, without centre hashes
    upgrade_to_head(db_url)  # 0009 computes them from the photos' files
    with engine.connect() as conn:
        after = conn.execute(text(query)).all()
    # upload hashes the decoded picture, the migration the stored JPEG of it: a few bits may differ, no more
    assert [row[0] for row in after] == [row[0] for row in before]
    for (_, old, *_), (_, new, *bands) in zip(before, after, strict=True):
        assert (int(old, 16) ^ int(new, 16)).bit_count() <= 6 and tuple(bands) == evidence.hash_bands(new)
