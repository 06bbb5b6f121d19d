"""trainer inbox: misunderstood texts and their hits; what the model thought of each shopper message

Revision ID: 0004_trainer_inbox
Revises: 0003_complaints
"""
from alembic import op
import sqlalchemy as sa

revision = "0004_trainer_inbox"
down_revision = "0003_complaints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("nlu", sa.JSON(), nullable=True))
    op.create_table(
        "nlu_inbox_items",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("text_key", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("label_intent", sa.String(80), nullable=True),
        sa.Column("label_entities", sa.JSON(), nullable=True),
        sa.Column("label_file", sa.String(200), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("text_key", name="uq_nlu_inbox_items_text_key"),
        sa.CheckConstraint("status IN ('open', 'labelled', 'dismissed')", name="ck_nlu_inbox_items_status"),
        sa.CheckConstraint("hits >= 0", name="ck_nlu_inbox_items_hits"),
        sa.CheckConstraint("status <> 'labelled' OR label_intent IS NOT NULL", name="ck_nlu_inbox_items_label"),
    )
    op.create_index("ix_nlu_inbox_items_status", "nlu_inbox_items", ["status"])
    op.create_index("ix_nlu_inbox_items_last_seen", "nlu_inbox_items", ["last_seen"])
    op.create_table(
        "nlu_inbox_hits",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("nlu_inbox_items.id"), nullable=False),
        sa.Column("conversation_id", sa.String(64), sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("message_seq", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("intent", sa.String(80), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("ranking", sa.JSON(), nullable=False),
        sa.Column("marked_by", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("conversation_id", "message_seq", name="uq_nlu_inbox_hits_message"),
        sa.CheckConstraint("reason IN ('fallback', 'low_confidence', 'agent')", name="ck_nlu_inbox_hits_reason"),
    )
    op.create_index("ix_nlu_inbox_hits_item_id", "nlu_inbox_hits", ["item_id"])


def downgrade() -> None:
    op.drop_index("ix_nlu_inbox_hits_item_id", table_name="nlu_inbox_hits")
    op.drop_table("nlu_inbox_hits")
    op.drop_index("ix_nlu_inbox_items_last_seen", table_name="nlu_inbox_items")
    op.drop_index("ix_nlu_inbox_items_status", table_name="nlu_inbox_items")
    op.drop_table("nlu_inbox_items")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("nlu")
