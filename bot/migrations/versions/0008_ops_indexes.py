"""The /ops page's indexes (every figure of a period is a range scan on a time column, never a table scan), and the
merchant of an order line (order_lines.merchant_id, given by the order feed), which refunds by merchant and the
merchant-wide systemic-issue alerts group by

Gateway side (bot/ops/summary.py): conversations and handoffs by created_at; shopper messages the model parsed, and
those it fell back on, by created_at (partial indexes on the parse's intent, so the fallback rate reads two small
indexes and no JSON); the trainer's inbox hits by created_at. Refund service side (bot/refunds/stats.py, alerts.py):
refunds by created_at and by settled_at, coupons by created_at. The partial indexes are written per dialect (the
JSON expression differs), so they live here only; the queries spell the same expressions (bot/ops/summary.py).

Revision ID: 0008_ops_indexes
Revises: 0007_photo_hash_bands
"""
from alembic import op
import sqlalchemy as sa

revision = "0008_ops_indexes"
down_revision = "0007_photo_hash_bands"
branch_labels = None
depends_on = None

# Each index holds every column its queries read, so they are answered from the index alone (SQLite reads no table
# rows; PostgreSQL does index-only scans once the table is vacuumed).
PLAIN = (
    ("ix_conversations_created_at", "conversations", ["created_at"]),
    # a conversation's start by its id without reading its row (handoffs and money joined to their conversations)
    ("ix_conversations_id_created_at", "conversations", ["id", "created_at"]),
    ("ix_handoffs_created_at", "handoffs", ["created_at", "conversation_id", "reason"]),
    ("ix_nlu_inbox_hits_created_at", "nlu_inbox_hits", ["created_at", "item_id"]),
    # refunds of a period by case type, state, who decided, amount and line (stats, alerts)
    ("ix_refunds_created_at", "refunds", ["created_at", "case_type", "state", "decided_by", "amount_cents", "line_id"]),
    # money of a period per conversation, creation to settlement
    ("ix_refunds_settled_at", "refunds", ["settled_at", "created_at", "conversation_id"]),
    ("ix_coupons_created_at", "coupons", ["created_at", "conversation_id", "value_cents"]),
    # a refund's line to its SKU and merchant
    ("ix_order_lines_sku_merchant", "order_lines", ["line_id", "sku", "merchant_id"]),
)

# The parse's intent, as bot/ops/summary.py INTENT spells it for each dialect.
INTENT = {"sqlite": "json_extract(nlu, '$.intent')", "postgresql": "(nlu ->> 'intent')"}


def upgrade() -> None:
    op.add_column("order_lines", sa.Column("merchant_id", sa.String(64), nullable=True))
    for name, table, columns in PLAIN:
        op.create_index(name, table, columns)
    intent = INTENT[op.get_bind().dialect.name]
    op.execute(f"CREATE INDEX ix_messages_parsed_at ON messages (created_at) WHERE {intent} IS NOT NULL")
    op.execute(f"CREATE INDEX ix_messages_fallback_at ON messages (created_at) WHERE {intent} = 'nlu_fallback'")


def downgrade() -> None:
    op.drop_index("ix_messages_fallback_at", table_name="messages")
    op.drop_index("ix_messages_parsed_at", table_name="messages")
    for name, table, _columns in reversed(PLAIN):
        op.drop_index(name, table_name=table)
    # in place (SQLite 3.35+ as PostgreSQL): a batch copy of order_lines would trip the foreign keys pointing at it
    op.execute("ALTER TABLE order_lines DROP COLUMN merchant_id")
