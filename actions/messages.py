"""Chinese text the actions compose at run time (fixed replies live in domain.yml)."""

from __future__ import annotations

PHOTO_LABELS = {
    "package": "快递外包装整个图（袋/盒）",
    "label": "快递面单",
    "items": "收到的所有商品照片",
}
# How a photo is named in a short sentence (「面单照片收到了」).
PHOTO_SHORT = {"package": "外包装照片", "label": "面单照片", "items": "商品照片"}
CIRCLED = "①②③④⑤"

CASE_LABELS = {
    "damaged": "商品破损",
    "missing_item": "少发漏发",
    "wrong_item": "发错货",
    "not_as_described": "与描述不符",
    "not_delivered": "没收到货",
}

REFUND_STATES = {
    "requested": "已提交",
    "approved": "已同意，正在打款",
    "needs_review": "人工审核中",
    "rejected": "未通过",
    "settled": "已退回原支付账户",
}


def yuan(cents: int) -> str:
    return f"¥{cents / 100:.2f}"


def photos_needed(kinds: list[str]) -> str:
    """「①快递外包装整个图（袋/盒）；②快递面单；③收到的所有商品照片」"""
    return "；".join(f"{CIRCLED[i]}{PHOTO_LABELS[k]}" for i, k in enumerate(kinds))


def first_photo_request(kinds: list[str], case_label: str) -> str:
    return (
        f"了解，{case_label}的问题我来帮您处理～为了尽快给您解决，麻烦您提供："
        f"{photos_needed(kinds)}。先请上传{CIRCLED[0]}{PHOTO_LABELS[kinds[0]]}。"
    )


def next_photo_request(kinds: list[str], kind: str) -> str:
    return f"收到～接下来请上传{CIRCLED[kinds.index(kind)]}{PHOTO_LABELS[kind]}。"


def order_button_title(order_id: str, first_item: str, n_lines: int, placed: str) -> str:
    more = f"等{n_lines}件" if n_lines > 1 else ""
    return f"{order_id} · {first_item}{more} · {placed}"


def line_button_title(name: str, quantity: int) -> str:
    return f"{name} ×{quantity}"


def offer_text(item: str, quantity: int, refund_cents: int, coupon_cents: int) -> str:
    return (
        f"已核实{item}×{quantity}的问题，给您两个方案："
        f"直接退款{yuan(refund_cents)}，或者领取{yuan(coupon_cents)}的无门槛优惠券（更划算）。您选哪个？"
    )


def whole_order_offer_text(order_id: str, n_items: int, refund_cents: int, coupon_cents: int) -> str:
    return (
        f"已核实订单{order_id}还没有收到，整单{n_items}件商品一起处理，给您两个方案："
        f"直接退款{yuan(refund_cents)}，或者领取{yuan(coupon_cents)}的无门槛优惠券（更划算）。您选哪个？"
    )


def refund_title(refund_cents: int) -> str:
    return f"退款 {yuan(refund_cents)}"


def coupon_title(coupon_cents: int) -> str:
    return f"优惠券 {yuan(coupon_cents)}（更划算）"


def refund_submitted(amount_cents: int) -> str:
    """Said as the refund is made; whether and when the money is back is the refund service's notice."""
    return f"好的，已为您提交{yuan(amount_cents)}的退款申请，处理结果马上在这里通知您～"


def refund_in_review(amount_cents: int) -> str:
    return f"退款申请{yuan(amount_cents)}已提交，需要人工客服再核实一下，我已为您转接，请稍等～"


def refund_rejected(reason: str) -> str:
    return f"抱歉，这笔退款申请没有通过：{reason}。如有异议可以回复「申诉」。"


def coupon_requested(value_cents: int) -> str:
    """Said as the coupon is made; the code and expiry are in the refund service's notice."""
    return f"好的，已为您办理{yuan(value_cents)}的无门槛优惠券，券码马上在这里发给您～"


def status_line(refund_id: str, item: str, amount_cents: int, state: str) -> str:
    return f"· {item} {yuan(amount_cents)}：{REFUND_STATES.get(state, state)}（单号 {refund_id}）"


REMEDY_NAMES = {"refund": "退款", "coupon": "优惠券"}
REMEDY_NOTED = "好的，记下了，您要{remedy}～先把这一步补全："
REMEDY_WANTED_CONFIRM = "您刚才说要{remedy}，已经放在第一个，点一下确认就好～"
NO_REFUNDS = "您目前没有退款记录哦。"
STATUS_HEADER = "您最近的退款进度："
ORDER_NOT_FOUND = "没有找到这个订单，请核对一下订单号～"
ORDER_NOT_YOURS = "这个订单不在您的账号下，请选择您自己的订单哦。"
NO_ORDERS = "没有找到您最近的订单，可以把订单号发给我～"
ASK_ORDER = "请问是哪一个订单呢？"
ASK_LINE = "请问是订单里的哪件商品呢？"
ASK_QUANTITY = "请问有几件有问题呢？"
QUANTITY_TOO_MANY = "这件商品最多还能申请{max}件，请重新选择数量～"
QUANTITY_INVALID = "数量需要是1件或以上哦～"
NOTHING_LEFT = "这件商品已经全部处理过售后了。"
PHOTO_NOT_USABLE = "这张照片没法用作凭证，请重新上传～"
PHOTO_WRONG_KIND = "这张照片好像不是{label}，请按提示重新上传～"
PHOTO_REUSED_NOTE = "收到～"
PHOTO_RECEIVED_NO_CASE = "照片收到啦～"
PHOTO_KEPT = "{label}收到了，我先帮您存着，一会儿直接用～"
STILL_NOT_MATCHED = "抱歉，还是没能对上您说的信息。您可以直接点下面的选项，或者转人工客服帮您处理～"
HUMAN_BUTTON = [{"title": "转人工客服", "payload": "/request_human"}]
SERVICE_DOWN = "系统有点忙，请稍后再试，或者回复「转人工」～"
NOT_IDENTIFIED = "暂时无法确认您的身份，请从店铺App重新进入对话～"
APPEAL_OPENED = "已为您提交申诉（退款单 {refund_id}），人工客服会尽快复核，请稍等～"
APPEAL_NOTHING = "没有找到可以申诉的处理结果。如果是其他问题，可以直接告诉我或回复「转人工」。"
COMPLAINT_RECORDED = "您的投诉已记录（{category}），工单号 {ticket}。我们会在24小时内处理并回复您，给您带来不便非常抱歉。"
ORDER_CONTEXT = "您咨询的订单 {order_id}：{items}。请问哪件商品有问题呢？"
GREETING = "您好，我是售后小助手～商品有破损、少发、发错、与描述不符或者没收到货，都可以直接告诉我哦。"
NOT_UNDERSTOOD = "抱歉，我没太明白您的意思，能换个说法吗？比如「有一支笔坏了」「退款到哪了」。"
OFFER_HUMAN = "抱歉，我好像一直没理解您的意思。要不要帮您转人工客服？"
OFFER_HUMAN_BUTTONS = [
    {"title": "转人工客服", "payload": "/request_human"},
    {"title": "不用了，继续", "payload": "/deny"},
]
CASE_CANCELLED = "好的，已为您取消本次售后申请。如果之后还需要处理，随时告诉我～"
NOTHING_TO_CANCEL = "您目前没有正在办理的申请哦。"
NO_OPEN_CASE = "请先告诉我哪件商品出了什么问题，我来帮您看看能怎么处理～"
