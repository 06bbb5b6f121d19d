"""refund_photos: the perceptual hash's three bands (22, 21 and 21 bits), each indexed, so reuse of a photo (or a near copy) is
found through the indexes (multi-index hashing) instead of reading every attached photo

Revision ID: 0007_photo_hash_bands
Revises: 0006_audit_log
"""
from alembic import op
import sqlalchemy as sa

revision = "0007_photo_hash_bands"
down_revision = "0006_audit_log"
branch_labels = None
depends_on = None

BAND_WIDTHS = (22, 21, 21)
BANDS = len(BAND_WIDTHS)


def _bands(phash: str) -> list[int]:
    # The same cut as bot/evidence/phash.py `bands` at the time of writing, spelled out so this migration
    # keeps meaning what it meant if that code changes.
    value, out, shift = int(phash, 16), [], 64
    for width in BAND_WIDTHS:
        shift -= width
        out.append((value >> shift) & ((1 << width) - 1))
    return out


def upgrade() -> None:
    for i in range(BANDS):
        op.add_column("refund_photos", sa.Column(f"band{i}", sa.Integer(), nullable=True))
    bind = op.get_bind()
    table = sa.table(
        "refund_photos",
        sa.column("refund_id", sa.String),
        sa.column("photo_id", sa.String),
        sa.column("phash", sa.String),
        *(sa.column(f"band{i}", sa.Integer) for i in range(BANDS)),
    )
    rows = bind.execute(sa.select(table.c.refund_id, table.c.photo_id, table.c.phash)).all()
    for refund_id, photo_id, phash in rows:
        values = dict(zip((f"band{i}" for i in range(BANDS)), _bands(phash)))
        bind.execute(
            table.update()
            .where(table.c.refund_id == refund_id, table.c.photo_id == photo_id)
            .values(**values)
        )
    with op.batch_alter_table("refund_photos") as batch:
        for i in range(BANDS):
            batch.alter_column(f"band{i}", existing_type=sa.Integer(), nullable=False)
    for i in range(BANDS):
        op.create_index(f"ix_refund_photos_band{i}", "refund_photos", [f"band{i}"])


def downgrade() -> None:
    for i in range(BANDS):
        op.drop_index(f"ix_refund_photos_band{i}", table_name="refund_photos")
    with op.batch_alter_table("refund_photos") as batch:
        for i in range(BANDS):
            batch.drop_column(f"band{i}")
