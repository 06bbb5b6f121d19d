"""Chinese text the service writes for shoppers (outbox) and agents (risk reasons), in one place."""

from __future__ import annotations


def yuan(cents: int) -> str:
    """Format cents as ¥3.50 (integer arithmetic, no floats)."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}¥{cents // 100}.{cents % 100:02d}"


def refund_settled(amount_cents: int) -> str:
    return f"退款已到账 {yuan(amount_cents)}"


def refund_rejected(amount_cents: int, reason: str | None) -> str:
    suffix = f"：{reason}" if reason else ""
    return f"退款申请（{yuan(amount_cents)}）未通过{suffix}"


def coupon_issued(value_cents: int, code: str) -> str:
    return f"优惠券已发放 {yuan(value_cents)}，券码 {code}"


RISK_DETAILS = {
    "frequent_refunds": "近{days}天已申请退款{count}次",
    "high_refund_rate": "有退款的订单占比{rate:.0%}",
    "new_account": "账号注册仅{days}天",
    "large_amount": "退款金额{amount}较大",
    "reused_photo": "照片与其他退款申请中的照片相同或高度相似（{photo_id}）",
    "missing_evidence": "缺少凭证照片：{kinds}",
}


def risk_detail(code: str, **values: object) -> str:
    return RISK_DETAILS[code].format(**values)
