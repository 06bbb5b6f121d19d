"""Chinese text the service writes for shoppers (outbox) and agents (risk reasons), in one place."""

from __future__ import annotations


def yuan(cents: int) -> str:
    """Format cents as ¥3.50 (integer arithmetic, no floats)."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}¥{cents // 100}.{cents % 100:02d}"


def refund_settled(item: str, quantity: int, amount_cents: int, *, fast: bool) -> str:
    """Money went back: at once (极速退款), or after an agent approved."""
    what = f"{item}×{quantity}的退款{yuan(amount_cents)}已原路退回到您的支付账户"
    if fast:
        return f"极速退款成功！{what}，一般几分钟内到账，请注意查收～"
    return f"您的退款申请已审核通过，{what}，请注意查收～"


def refund_rejected(item: str, quantity: int, amount_cents: int, reason: str | None) -> str:
    why = f"原因：{reason}。" if reason else "如需了解原因，可以回复「转人工」。"
    return f"很抱歉，您的退款申请（{item}×{quantity}，{yuan(amount_cents)}）未通过审核。{why}如有异议可以回复「申诉」。"


def coupon_issued(item: str, quantity: int, value_cents: int, code: str, expires: str) -> str:
    return (
        f"{yuan(value_cents)}无门槛优惠券已发放到您的账户（{item}×{quantity}的补偿），"
        f"券码 {code}，有效期至 {expires}，下单时自动抵扣～"
    )


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
