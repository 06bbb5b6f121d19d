"""Refund service: orders, the refunds ledger, coupons, risk scoring and the notifications outbox."""
