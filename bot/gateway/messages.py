"""Every Chinese (and English) string the gateway shows to shoppers and agents."""

from __future__ import annotations

PHOTO_KIND_ZH = {
    "package": "快递外包装整个图（袋/盒）",
    "label": "快递面单",
    "items": "收到的所有商品照片",
}

PHOTO_SENT = "[图片] {kind}"
HANDOFF_WAITING = "正在为您转接人工客服，请稍候，客服接入后会在这里回复您。"
HANDOFF_ALREADY = "已在为您转接人工客服，请耐心等待。"
AGENT_JOINED = "人工客服 {agent} 已接入，为您服务。"
AGENT_TRANSFERRED = "已为您转接人工客服 {agent}，由其继续为您服务。"
AGENT_LEFT = "人工客服已结束服务，智能助手继续为您服务。您可以接着刚才的问题说。"
BOT_UNAVAILABLE = "抱歉，系统繁忙，请稍后再试，或发送“转人工”联系人工客服。"
# What an agent's refund decision means for the shopper's money is told by the refund service's outbox
# notice (bot/refunds/messages.py, delivered by bot/gateway/notices.py), never by the gateway.

# Texts that mean "give me a human" and are handled by the gateway itself, so they work even
# when the bot is down.
HUMAN_REQUESTS = ("转人工", "人工", "人工客服", "找人工", "转人工客服")

ERRORS: dict[str, tuple[str, str]] = {
    "unauthorized": ("请先登录", "Missing or invalid token"),
    "forbidden": ("无权访问该会话或订单", "Not your conversation or order"),
    "not_found": ("会话不存在", "No such conversation"),
    "order_not_found": ("订单不存在", "No such order"),
    "rate_limited": ("发送太频繁了，请稍后再试", "Too many messages, slow down"),
    "text_too_long": ("消息太长了，请分几次发送", "Message too long"),
    "empty_message": ("消息不能为空", "Empty message"),
    "bad_message": ("请发送文字或点击按钮", "Send either text or a button payload"),
    "button_not_offered": ("这个选项已失效，请重新选择", "That button was not offered in this conversation"),
    "agent_has_conversation": (
        "人工客服正在为您服务，请直接输入文字与客服沟通", "An agent holds this conversation; bot buttons do nothing now"
    ),
    "bad_kind": ("照片类型不对，应为外包装、面单或商品照片", "kind must be package, label or items"),
    "too_large": ("图片太大了，请压缩后再上传", "File too large"),
    "no_file": ("请选择一张图片", "No file uploaded"),
    "photo_not_found": ("图片不存在", "No such photo"),
    "refunds_unavailable": ("退款服务暂时不可用，请稍后再试", "Refund service unavailable"),
    "not_waiting": ("该会话已被其他客服接入或不在队列中", "Conversation already claimed or not waiting"),
    "not_holder": (
        "您当前没有接管该会话，请先接入", "You do not hold this conversation (claim it first, or ask a supervisor)"
    ),
    "not_assignable": ("该会话不在排队或接待中，无法转派", "Only a waiting or held conversation can be assigned"),
    "auth_unavailable": ("登录校验暂时不可用，请稍后再试", "Token check unavailable (Redis down); try again shortly"),
    "refund_not_found": ("退款单不存在", "No such refund"),
    "refund_conflict": ("退款单当前状态不允许该操作", "Refund state does not allow this"),
    "demo_disabled": ("演示模式未开启", "Demo mode is off"),
    "not_a_shopper_text": ("只能标记顾客输入的文字消息", "Only text a shopper typed can go to the NLU inbox"),
    "item_not_found": ("收件箱里没有这条消息", "No such inbox item"),
    "already_labelled": ("这条消息已经标注为别的意图了", "The item is already labelled with another intent"),
    "duplicate": ("训练数据里已经有这句话了", "The text is already an example in the training data"),
    "bad_intent": ("意图名称不正确", "Unknown or malformed intent name"),
    "bad_span": ("实体标注的位置或类型不正确", "Entity span out of range, overlapping or of an unknown type"),
    "bad_text": ("这句话不能直接写进训练数据", "The text cannot be written as a training example"),
    "bad_render": ("写入训练数据失败，文件未改动", "The example did not read back as written; file restored"),
    "retrain_busy": ("已有一次训练在进行中", "A retrain is already running"),
    "run_not_found": ("没有这次训练记录", "No such retrain run"),
    "no_report": ("还没有评估报告，请先运行评估", "No evaluation report yet: run bin/eval-nlu"),
    "rollback_failed": ("回滚失败", "Rollback failed"),
    # FastAPI's and Starlette's own refusals, and a crash (bot/gateway/errors.py)
    "invalid_request": ("请求格式不正确，请检查后重试", "The request is malformed"),
    "no_such_path": ("您访问的页面不存在", "No such page or endpoint"),
    "method_not_allowed": ("不支持这种请求方式", "This path does not take that method"),
    "bad_request": ("请求有误，请稍后再试", "Bad request"),
    "internal_error": ("抱歉，系统繁忙，请稍后再试", "Internal error; it has been logged"),
}
