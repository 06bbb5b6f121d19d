"""Initial schema: the photos table (evidence store) and every table of the refund service.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-23 10:02:49.973108
"""
from alembic import op
import sqlalchemy as sa


revision = '0001_initial'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('photos',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('shopper_id', sa.String(length=64), nullable=False),
    sa.Column('conversation_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('phash', sa.String(length=16), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('original_format', sa.String(length=16), nullable=False),
    sa.Column('original_bytes', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('filename', name='uq_photos_filename')
    )
    op.create_index(op.f('ix_photos_conversation_id'), 'photos', ['conversation_id'], unique=False)
    op.create_index(op.f('ix_photos_phash'), 'photos', ['phash'], unique=False)
    op.create_index(op.f('ix_photos_shopper_id'), 'photos', ['shopper_id'], unique=False)

    op.create_table('shoppers',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('orders',
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('shopper_id', sa.String(length=64), nullable=False),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['shopper_id'], ['shoppers.id'], name='fk_orders_shopper'),
    sa.PrimaryKeyConstraint('order_id')
    )
    op.create_index(op.f('ix_orders_shopper_id'), 'orders', ['shopper_id'], unique=False)

    op.create_table('order_lines',
    sa.Column('line_id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('unit_price_cents', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('remedied_quantity', sa.Integer(), nullable=False),
    sa.Column('refunded_cents', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name='ck_order_lines_quantity_positive'),
    sa.CheckConstraint('refunded_cents >= 0 AND refunded_cents <= unit_price_cents * quantity', name='ck_order_lines_refunded_le_paid'),
    sa.CheckConstraint('remedied_quantity >= 0 AND remedied_quantity <= quantity', name='ck_order_lines_remedied_le_quantity'),
    sa.CheckConstraint('unit_price_cents >= 0', name='ck_order_lines_price_nonnegative'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.order_id'], name='fk_order_lines_order'),
    sa.PrimaryKeyConstraint('line_id')
    )
    op.create_index(op.f('ix_order_lines_order_id'), 'order_lines', ['order_id'], unique=False)

    op.create_table('coupons',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('shopper_id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('line_id', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('value_cents', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('conversation_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity > 0', name='ck_coupons_quantity_positive'),
    sa.CheckConstraint('value_cents > 0', name='ck_coupons_value_positive'),
    sa.ForeignKeyConstraint(['line_id'], ['order_lines.line_id'], name='fk_coupons_line'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.order_id'], name='fk_coupons_order'),
    sa.ForeignKeyConstraint(['shopper_id'], ['shoppers.id'], name='fk_coupons_shopper'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code', name='uq_coupons_code'),
    sa.UniqueConstraint('idempotency_key', name='uq_coupons_idempotency_key')
    )
    op.create_index(op.f('ix_coupons_shopper_id'), 'coupons', ['shopper_id'], unique=False)

    op.create_table('refunds',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('shopper_id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('line_id', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('case_type', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('risk_score', sa.Integer(), nullable=False),
    sa.Column('risk_reasons', sa.JSON(), nullable=False),
    sa.Column('conversation_id', sa.String(length=64), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('requested', 'approved', 'needs_review', 'rejected', 'settled')", name='ck_refunds_state'),
    sa.CheckConstraint('amount_cents >= 0', name='ck_refunds_amount_nonnegative'),
    sa.CheckConstraint('quantity > 0', name='ck_refunds_quantity_positive'),
    sa.CheckConstraint('risk_score >= 0 AND risk_score <= 100', name='ck_refunds_risk_range'),
    sa.ForeignKeyConstraint(['line_id'], ['order_lines.line_id'], name='fk_refunds_line'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.order_id'], name='fk_refunds_order'),
    sa.ForeignKeyConstraint(['shopper_id'], ['shoppers.id'], name='fk_refunds_shopper'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key', name='uq_refunds_idempotency_key')
    )
    op.create_index(op.f('ix_refunds_line_id'), 'refunds', ['line_id'], unique=False)
    op.create_index('ix_refunds_shopper_created', 'refunds', ['shopper_id', 'created_at'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('shopper_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('refund_id', sa.String(length=32), nullable=True),
    sa.Column('coupon_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['coupon_id'], ['coupons.id'], name='fk_notifications_coupon'),
    sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], name='fk_notifications_refund'),
    sa.ForeignKeyConstraint(['shopper_id'], ['shoppers.id'], name='fk_notifications_shopper'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_notifications_shopper_id'), 'notifications', ['shopper_id'], unique=False)

    op.create_table('refund_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('refund_id', sa.String(length=32), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=True),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], name='fk_refund_events_refund'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_refund_events_refund_id'), 'refund_events', ['refund_id'], unique=False)

    op.create_table('refund_photos',
    sa.Column('refund_id', sa.String(length=32), nullable=False),
    sa.Column('photo_id', sa.String(length=32), nullable=False),
    sa.Column('phash', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['photo_id'], ['photos.id'], name='fk_refund_photos_photo'),
    sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], name='fk_refund_photos_refund'),
    sa.PrimaryKeyConstraint('refund_id', 'photo_id')
    )
    op.create_index(op.f('ix_refund_photos_phash'), 'refund_photos', ['phash'], unique=False)
    op.create_index(op.f('ix_refund_photos_photo_id'), 'refund_photos', ['photo_id'], unique=False)



def downgrade() -> None:
    op.drop_index(op.f('ix_refund_photos_photo_id'), table_name='refund_photos')
    op.drop_index(op.f('ix_refund_photos_phash'), table_name='refund_photos')

    op.drop_table('refund_photos')
    op.drop_index(op.f('ix_refund_events_refund_id'), table_name='refund_events')

    op.drop_table('refund_events')
    op.drop_index(op.f('ix_notifications_shopper_id'), table_name='notifications')

    op.drop_table('notifications')
    op.drop_index('ix_refunds_shopper_created', table_name='refunds')
    op.drop_index(op.f('ix_refunds_line_id'), table_name='refunds')

    op.drop_table('refunds')
    op.drop_index(op.f('ix_coupons_shopper_id'), table_name='coupons')

    op.drop_table('coupons')
    op.drop_index(op.f('ix_order_lines_order_id'), table_name='order_lines')

    op.drop_table('order_lines')
    op.drop_index(op.f('ix_orders_shopper_id'), table_name='orders')

    op.drop_table('orders')
    op.drop_table('shoppers')
    op.drop_index(op.f('ix_photos_shopper_id'), table_name='photos')
    op.drop_index(op.f('ix_photos_phash'), table_name='photos')
    op.drop_index(op.f('ix_photos_conversation_id'), table_name='photos')

    op.drop_table('photos')
