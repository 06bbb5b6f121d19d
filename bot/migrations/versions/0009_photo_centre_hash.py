"""photos and refund_photos: the hash of the picture's centre, and on refund_photos its three bands, indexed, so a
cropped or slightly turned copy of a photo in use is found through the indexes (bot/evidence/fingerprint.py)

Existing rows: photos whose file is on this machine get their centre hash here (backfill), and refund_photos copy it
from their photo; a photo whose file is gone keeps NULL and is still matched by its full hash, as before 0009.
The centre hash is computed with bot.evidence.fingerprint as it is when this runs (unlike 0007's band cut, it is
too long to spell out here); full hashes are not recomputed: a photo without flat borders hashes as before.

Revision ID: 0009_photo_centre_hash
Revises: 0008_ops_indexes
"""
from alembic import op
import sqlalchemy as sa

revision = "0009_photo_centre_hash"
down_revision = "0008_ops_indexes"
branch_labels = None
depends_on = None

BAND_WIDTHS = (22, 21, 21)  # bot/evidence/phash.py at the time of writing, as in 0007


def _bands(phash: str) -> list[int]:
    value, out, shift = int(phash, 16), [], 64
    for width in BAND_WIDTHS:
        shift -= width
        out.append((value >> shift) & ((1 << width) - 1))
    return out


def _centre_hashes(bind) -> dict[str, str]:
    from PIL import Image

    from bot.evidence.fingerprint import centre_hash
    from bot.settings import get_settings

    photos = sa.table("photos", sa.column("id", sa.String), sa.column("filename", sa.String))
    found = {}
    for photo_id, filename in bind.execute(sa.select(photos.c.id, photos.c.filename)).all():
        path = get_settings().photo_dir / filename
        if path.is_file():
            with Image.open(path) as img:
                found[photo_id] = centre_hash(img.convert("RGB"))
    return found


def upgrade() -> None:
    op.add_column("photos", sa.Column("centre_hash", sa.String(16), nullable=True))
    op.add_column("refund_photos", sa.Column("centre_hash", sa.String(16), nullable=True))
    for i in range(len(BAND_WIDTHS)):
        op.add_column("refund_photos", sa.Column(f"cband{i}", sa.Integer(), nullable=True))
        op.create_index(f"ix_refund_photos_cband{i}", "refund_photos", [f"cband{i}"])
    bind = op.get_bind()
    photos = sa.table("photos", sa.column("id", sa.String), sa.column("centre_hash", sa.String))
    attached = sa.table(
        "refund_photos",
        sa.column("photo_id", sa.String),
        sa.column("centre_hash", sa.String),
        *(sa.column(f"cband{i}", sa.Integer) for i in range(len(BAND_WIDTHS))),
    )
    for photo_id, centre in _centre_hashes(bind).items():
        bind.execute(photos.update().where(photos.c.id == photo_id).values(centre_hash=centre))
        values = {f"cband{i}": band for i, band in enumerate(_bands(centre))}
        bind.execute(
            attached.update().where(attached.c.photo_id == photo_id).values(centre_hash=centre, **values)
        )


def downgrade() -> None:
    for i in range(len(BAND_WIDTHS)):
        op.drop_index(f"ix_refund_photos_cband{i}", table_name="refund_photos")
    with op.batch_alter_table("refund_photos") as batch:
        for i in range(len(BAND_WIDTHS)):
            batch.drop_column(f"cband{i}")
        batch.drop_column("centre_hash")
    # refund_photos refers to photos: SQLite's batch mode would copy and drop photos, which that reference forbids;
    # both SQLite (3.35+) and PostgreSQL drop a plain column in place
    op.execute("ALTER TABLE photos DROP COLUMN centre_hash")
