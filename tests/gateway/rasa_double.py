"""RasaDouble: a tiny real HTTP server speaking the trusted-channel protocol with canned replies.

A test double of Rasa (the real Rasa path has its own end-to-end test). It keeps, per sender, the
buttons it offered, refuses other payloads with 422 button_not_offered like the real channel, and on
「我要投诉」 escalates through the gateway's /internal/handoff with a service token, as the custom
action does.
"""

from __future__ import annotations

import hmac
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.tokens import mint

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
    def __init__(self, secret: str, gateway_url: str = "") -> None:
        self.secret = secret
        self.gateway_url = gateway_url
        self.received: list[dict[str, Any]] = []
        self.offered: dict[str, set[str]] = {}
        self.app = Starlette(routes=[Route("/webhooks/trusted/webhook", self.webhook, methods=["POST"])])

    def events(self, conversation_id: str) -> list[dict[str, Any]]:
        return [b for b in self.received if b.get("conversation_id") == conversation_id]

    def _offer(self, sender: str, buttons: list[dict[str, str]]) -> list[dict[str, str]]:
        self.offered.setdefault(sender, set()).update(b["payload"] for b in buttons)
        return buttons

    async def webhook(self, request: Request) -> JSONResponse:
        if not hmac.compare_digest(request.headers.get("x-channel-secret", ""), self.secret):
            return JSONResponse({"detail": "bad secret"}, status_code=401)
        body = await request.json()
        self.received.append(body)
        sender = f"{body['shopper_id']}:{body['conversation_id']}"
        event = body["event"]
        if event == "start":
            text = "您好，我是售后小助手，请问遇到什么问题了？"
            return JSONResponse({"messages": [{"text": text, "buttons": self._offer(sender, START_BUTTONS)}]})
        if event == "button":
            if body.get("payload") not in self.offered.get(sender, set()):
                return JSONResponse({"detail": {"code": "button_not_offered"}}, status_code=422)
            if body["payload"] == "/report_damaged":
                return JSONResponse(
                    {
                        "messages": [
                            {"text": "请上传快递外包装整个图（袋/盒）"},
                        ]
                    }
                )
            return JSONResponse({"messages": [{"text": f"好的（{body['payload']}）"}]})
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
        text = body.get("text", "")
        if text == "我要投诉":
            async with httpx.AsyncClient(timeout=10) as client:
                resp = await client.post(
                    f"{self.gateway_url}/internal/handoff",
                    json={"conversation_id": body["conversation_id"], "reason": "complaint"},
                    headers={"Authorization": f"Bearer {mint('service', 'actions')}"},
                )
            return JSONResponse({"messages": [{"text": f"已为您转接人工客服（{resp.status_code}）"}],
                                 "nlu": understanding(text)})
        return JSONResponse({"messages": [{"text": f"收到：{text}", "buttons": self._offer(sender, REMEDY_BUTTONS)}],
                             "nlu": understanding(text)})
