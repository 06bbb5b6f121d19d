"""complaints: categorised complaints with ticket numbers

Revision ID: 0003_complaints
Revises: 0002_gateway
"""
from alembic import op
import sqlalchemy as sa

revision = "0003_complaints"
down_revision = "0002_gateway"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ticket", sa.String(24), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("shopper_id", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("ticket", name="uq_complaints_ticket"),
        sa.UniqueConstraint("idempotency_key", name="uq_complaints_idempotency_key"),
    )
    op.create_index("ix_complaints_shopper_id", "complaints", ["shopper_id"])


def downgrade() -> None:
    op.drop_index("ix_complaints_shopper_id", table_name="complaints")
    op.drop_table("complaints")
