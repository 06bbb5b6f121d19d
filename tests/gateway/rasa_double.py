"""RasaDouble: a tiny real HTTP server speaking the trusted-channel protocol with canned replies.

A test double of Rasa (the real Rasa path has its own end-to-end test). It keeps, per sender, the
buttons it offered, refuses other payloads with 422 button_not_offered like the real channel, and on
「我要投诉」 or a `human` event asks for an agent in its answer (bot.rasa_protocol.handoff_request), as
the custom actions do.
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.rasa_protocol import WEBHOOK_PATH, handoff_request, sender_id

START_BUTTONS = [
    {"title": "商品坏了", "payload": "/report_damaged"},
    {"title": "少发了", "payload": "/report_missing_item"},
]
REMEDY_BUTTONS = [
    {"title": "退款 ¥3.50", "payload": "/choose_refund"},
    {"title": "优惠券 ¥5.25", "payload": "/choose_coupon"},
]


# What the double "understands" of a text, like the real channel's `nlu` field: first match wins.
UNDERSTANDING = [
    ("坏", "report_damaged", 0.96),
    ("投诉", "complain", 0.99),
    ("嗯嗯", "affirm", 0.55),  # understood, but below the inbox threshold
]


def understanding(text: str) -> dict[str, Any]:
    for marker, intent, confidence in UNDERSTANDING:
        if marker in text:
            ranking = [{"name": intent, "confidence": confidence}, {"name": "out_of_scope", "confidence": 0.02}]
            return {"intent": intent, "confidence": confidence, "ranking": ranking, "entities": []}
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.45},
        {"name": "out_of_scope", "confidence": 0.31},
        {"name": "ask_refund_status", "confidence": 0.2},
    ]
    return {"intent": "nlu_fallback", "confidence": 0.45, "ranking": ranking, "entities": []}


class RasaDouble:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.down = False  # answer 503 to everything, as a crashed or overloaded Rasa would
        self.received: list[dict[str, Any]] = []
        self.offered: dict[str, dict[str, str]] = {}  # sender -> payload -> title
        self.app = Starlette(routes=[Route(WEBHOOK_PATH, self.webhook, methods=["POST"])])

    def events(self, conversation_id: str) -> list[dict[str, Any]]:
        return [b for b in self.received if b.get("conversation_id") == conversation_id]

    def _offer(self, sender: str, buttons: list[dict[str, str]]) -> list[dict[str, str]]:
        self.offered.setdefault(sender, {}).update({b["payload"]: b["title"] for b in buttons})
        return buttons

    async def webhook(self, request: Request) -> JSONResponse:
        if not hmac.compare_digest(request.headers.get("x-channel-secret", ""), self.secret):
            return JSONResponse({"detail": "bad secret"}, status_code=401)
        if self.down:
            return JSONResponse({"detail": "down"}, status_code=503)
        body = await request.json()
        self.received.append(body)
        sender = sender_id(body['shopper_id'], body['conversation_id'])
        event = body["event"]
        if event == "start":
            text = "您好，我是售后小助手，请问遇到什么问题了？"
            return JSONResponse({"messages": [{"text": text, "buttons": self._offer(sender, START_BUTTONS)}]})
        if event == "button":
            title = self.offered.get(sender, {}).get(body.get("payload"))
            if title is None:
                self.received.pop()  # refused at the door: the bot never handles it
                return JSONResponse({"detail": {"code": "button_not_offered"}}, status_code=422)
            clicked = {"title": title, "payload": body["payload"]}  # as the real channel reports it
            if body["payload"] == "/report_damaged":
                return JSONResponse({"messages": [{"text": "请上传快递外包装整个图（袋/盒）"}], "button": clicked})
            return JSONResponse({"messages": [{"text": f"好的（{body['payload']}）"}], "button": clicked})
        if event == "photo":
            return JSONResponse(
                {
                    "messages": [
                        {
                            "text": f"已收到{body['photo_kind']}照片",
                            "buttons": self._offer(sender, REMEDY_BUTTONS),
                        },
                    ]
                }
            )
        if event == "human":  # the bot's action_handoff: leave the form, ask for an agent, say nothing itself
            return JSONResponse({"messages": [{"custom": handoff_request("asked")}]})
        text = body.get("text", "")
        if text == "我要投诉":  # action_record_complaint: a ticket, then the handoff request
            return JSONResponse({"messages": [{"text": "已记录您的投诉"}, {"custom": handoff_request("complaint")}],
                                 "nlu": understanding(text)})
        return JSONResponse({"messages": [{"text": f"收到：{text}", "buttons": self._offer(sender, REMEDY_BUTTONS)}],
                             "nlu": understanding(text)})
