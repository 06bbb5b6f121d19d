"""Gateway transcripts: conversations, numbered messages, handoffs.

Revision ID: 0002_gateway
Revises: 0001_initial
"""

from alembic import op
import sqlalchemy as sa

revision = "0002_gateway"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("shopper_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=True),
        sa.Column("holder", sa.String(80), nullable=False, server_default="bot"),
        sa.Column("last_seq", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_conversations_shopper_id", "conversations", ["shopper_id"])
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(64), sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("sender", sa.String(16), nullable=False),
        sa.Column("author", sa.String(64), nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("buttons", sa.JSON, nullable=False),
        sa.Column("payload", sa.String(1000), nullable=True),
        sa.Column("photo_id", sa.String(32), nullable=True),
        sa.Column("photo_kind", sa.String(16), nullable=True),
        sa.Column("bot_pending", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_seq"),
        sa.CheckConstraint("sender IN ('shopper', 'bot', 'agent')", name="ck_messages_sender"),
        sa.CheckConstraint("seq > 0", name="ck_messages_seq_positive"),
    )
    op.create_table(
        "handoffs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("conversation_id", sa.String(64), sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("refund_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "reason IN ('asked', 'risk', 'appeal', 'complaint', 'fallback')", name="ck_handoffs_reason"
        ),
        sa.CheckConstraint("status IN ('waiting', 'claimed', 'released')", name="ck_handoffs_status"),
    )
    op.create_index("ix_handoffs_conversation_id", "handoffs", ["conversation_id"])
    op.create_index("ix_handoffs_refund_id", "handoffs", ["refund_id"])
    op.create_index("ix_handoffs_status", "handoffs", ["status"])


def downgrade() -> None:
    op.drop_table("handoffs")
    op.drop_table("messages")
    op.drop_index("ix_conversations_shopper_id", table_name="conversations")
    op.drop_table("conversations")
