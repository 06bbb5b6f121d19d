"""One error type for the gateway, rendered as JSON with a Chinese and an English reason."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from bot.gateway.messages import ERRORS


class GatewayError(Exception):
    """A refusal the client should see: HTTP status, a stable code and both-language reasons."""

    def __init__(self, status: int, code: str, message_zh: str = "", message_en: str = "") -> None:
        zh, en = ERRORS.get(code, (code, code))
        super().__init__(message_en or en)
        self.status = status
        self.code = code
        self.message_zh = message_zh or zh
        self.message_en = message_en or en

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "detail": self.message_en,
        }


async def gateway_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GatewayError)
    headers = {"Retry-After": "5"} if exc.status == 429 else None
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)
