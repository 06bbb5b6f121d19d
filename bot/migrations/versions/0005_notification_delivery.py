"""notification delivery: the conversation a notification is told in; the transcript message that told it

Revision ID: 0005_notification_delivery
Revises: 0004_trainer_inbox
"""
from alembic import op
import sqlalchemy as sa

revision = "0005_notification_delivery"
down_revision = "0004_trainer_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # On SQLite the table is rebuilt with AUTOINCREMENT: a notification id must never be handed out twice,
    # since the transcript message that told it is keyed on it (PostgreSQL's sequence never reuses one).
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "notifications", recreate="always" if sqlite else "auto", table_kwargs={"sqlite_autoincrement": sqlite}
    ) as batch:
        batch.add_column(sa.Column("conversation_id", sa.String(64), nullable=True))
    op.create_index("ix_notifications_conversation_id", "notifications", ["conversation_id"])
    op.create_index("ix_notifications_delivered_at", "notifications", ["delivered_at"])
    # Notifications written before this revision name no conversation: take it from their refund or coupon.
    op.execute(
        "UPDATE notifications SET conversation_id = "
        "(SELECT refunds.conversation_id FROM refunds WHERE refunds.id = notifications.refund_id) "
        "WHERE refund_id IS NOT NULL"
    )
    op.execute(
        "UPDATE notifications SET conversation_id = "
        "(SELECT coupons.conversation_id FROM coupons WHERE coupons.id = notifications.coupon_id) "
        "WHERE coupon_id IS NOT NULL"
    )
    # Nothing read the outbox before: the actions and the gateway told the shopper themselves. Those rows are
    # told already, and delivering them now would repeat old news in old chats.
    op.execute("UPDATE notifications SET delivered_at = created_at WHERE delivered_at IS NULL")
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("notification_id", sa.Integer(), nullable=True))
    # One transcript message per notification, whichever gateway worker delivers it (NULLs are not equal).
    op.create_index("uq_messages_notification_id", "messages", ["notification_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_messages_notification_id", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("notification_id")
    op.drop_index("ix_notifications_delivered_at", table_name="notifications")
    op.drop_index("ix_notifications_conversation_id", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("conversation_id")
