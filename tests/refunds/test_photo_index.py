"""Reuse of a photo is found through the hash-band indexes of refund_photos: every copy within the policy distance,
however its changed bits fall across the bands, and nothing further; rows attached before the index get bands."""

from __future__ import annotations

from alembic import command
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.evidence.phash import BAND_OFFSETS, BANDS, band_probes, bands
from bot.migrate import alembic_config, upgrade_to_head
from bot.policy import load_policy
from bot.refunds import risk, service
from tests.refunds.test_risk import damaged_pen

MAX_DISTANCE = int(load_policy()["risk"]["photo_hash_max_distance"])
ORIGINAL = "d1c4a0b0f0e0c0a1"


def flip(phash: str, positions: list[int]) -> str:
    value = int(phash, 16)
    for bit in positions:
        value ^= 1 << bit
    return f"{value:016x}"


def spread(count: int) -> list[int]:
    """`count` bit positions dealt over the bands in turn: each band changes about equally, the hardest case for
    an index that looks bands up."""
    return [BAND_OFFSETS[i % BANDS] + i // BANDS for i in range(count)]


@given(
    phash=st.integers(0, 2**64 - 1).map(lambda v: f"{v:016x}"),
    positions=st.lists(st.integers(0, 63), unique=True, max_size=MAX_DISTANCE),
)
@settings(max_examples=300, deadline=None, derandomize=True)
def test_every_copy_within_the_distance_is_among_the_probes(phash: str, positions: list[int]) -> None:
    copy = flip(phash, positions)
    probes = band_probes(phash, MAX_DISTANCE)
    assert any(value in probe for value, probe in zip(bands(copy), probes, strict=True))


def test_a_near_copy_is_found_however_its_changed_bits_fall(session: Session, add_photo, evidence) -> None:
    original = add_photo("s1", kind="items", phash=ORIGINAL)
    service.create_refund(
        session, idempotency_key="a", data=damaged_pen("s1", "O1001", [*evidence("s1")[:2], original], "a")
    )
    near = add_photo("s2", phash=flip(ORIGINAL, spread(MAX_DISTANCE)))
    far = add_photo("s2", phash=flip(ORIGINAL, spread(MAX_DISTANCE + 1)))
    assert risk.photo_info(session, photo_id=near).reused
    assert not risk.photo_info(session, photo_id=far).reused
    session.rollback()


def _bands_on_file(engine: Engine) -> dict[str, tuple[int, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT phash, band0, band1, band2 FROM refund_photos")).all()
    return {phash: tuple(rest) for phash, *rest in rows}


def test_photos_attached_before_the_index_get_their_bands(
    db_url: str, engine: Engine, session: Session, evidence
) -> None:
    service.create_refund(session, idempotency_key="a", data=damaged_pen("s1", "O1001", evidence("s1"), "a"))
    at_insert = _bands_on_file(engine)
    assert len(at_insert) == 3 and all(at_insert[h] == bands(h) for h in at_insert)
    session.close()
    engine.dispose()

    command.downgrade(alembic_config(db_url), "0006_audit_log")  # the table as it was, without bands
    upgrade_to_head(db_url)  # 0007 computes them for the rows already there
    assert _bands_on_file(engine) == at_insert
