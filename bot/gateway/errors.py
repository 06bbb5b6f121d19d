"""One error type for the gateway, rendered as JSON with a Chinese and an English reason.

Every 4xx and 5xx the gateway answers has this body, {code, message_zh, message_en, detail}: its own refusals
(GatewayError), FastAPI's request validation (422 invalid_request, plus `errors` naming the fields), Starlette's
404 and 405 (unknown path, wrong method), a crash (500 internal_error, logged with its traceback), too much at once
(503 overloaded, from bot/overload.py) and SQL that stayed busy (503 database_busy). Every 429 and 503 carries
Retry-After.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.gateway.messages import ERRORS

log = logging.getLogger(__name__)
HTTP_CODES = {404: "no_such_path", 405: "method_not_allowed"}  # Starlette's own refusals; others: bad_request
RETRY_AFTER_SECONDS = 5  # told with a 429 or 503 of the gateway's own (the load shedder tells its own figure)
# Refusals under load (bot/overload.py, the handler of OperationalError below)
LOAD_ERRORS = {
    "overloaded": ("当前咨询的人较多，请稍等几秒后再试", "Too many requests at once; try again in a few seconds"),
    "database_busy": ("系统繁忙，请稍等几秒后再试", "The database stayed busy; try again in a few seconds"),
}


class GatewayError(Exception):
    """A refusal the client should see: HTTP status, a stable code and both-language reasons."""

    def __init__(self, status: int, code: str, message_zh: str = "", message_en: str = "") -> None:
        zh, en = ERRORS.get(code) or LOAD_ERRORS.get(code, (code, code))
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
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if exc.status in (429, 503) else None
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


def overloaded(retry_after: int) -> JSONResponse:
    """bot/overload.py's refusal in the gateway's shape."""
    return JSONResponse(GatewayError(503, "overloaded").body(), status_code=503,
                        headers={"Retry-After": str(retry_after)})


def database_unavailable(exc: OperationalError) -> bool:
    """SQLite's lock stayed busy, or the connection to the database was lost: worth trying again shortly. Any other
    OperationalError (a missing table, bad SQL) is a fault of ours, left to CrashGuard's 500."""
    text = str(exc.orig).lower()
    return exc.connection_invalidated or "locked" in text or "busy" in text or "connection" in text


async def database_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """SQL that could not be had (SQLite's write lock not free within BOT_SQLITE_BUSY_SECONDS, a lost PostgreSQL
    connection): 503 database_busy, not a crash's 500. The request's own transaction was rolled back."""
    assert isinstance(exc, OperationalError)
    if not database_unavailable(exc):
        raise exc
    log.warning("database unavailable answering %s %s: %s", request.method, request.url.path, exc.orig)
    return await gateway_error_handler(request, GatewayError(503, "database_busy"))


def _fields(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Where and why, without echoing the input back (it may be huge, or a secret pasted by mistake)."""
    return [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()]


async def validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 in the gateway's shape; `detail` names the first bad field in English."""
    assert isinstance(exc, RequestValidationError)
    fields = _fields(exc)
    err = GatewayError(422, "invalid_request")
    first = fields[0] if fields else {"loc": [], "msg": ""}
    where = ".".join(str(part) for part in first["loc"])
    body = {**err.body(), "detail": f"{err.message_en}: {where}: {first['msg']}", "errors": jsonable_encoder(fields)}
    return JSONResponse(body, status_code=422)


async def http_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Starlette's refusals (no route for the path, a method the path does not take) in the gateway's shape."""
    assert isinstance(exc, StarletteHTTPException)
    err = GatewayError(exc.status_code, HTTP_CODES.get(exc.status_code, "bad_request"))
    return JSONResponse(err.body(), status_code=exc.status_code, headers=exc.headers)


class CrashGuard:
    """Pure ASGI middleware answering an unexpected exception with 500 internal_error in the gateway's shape.

    Starlette's ServerErrorMiddleware answers crashes from outside every user middleware, so its plain-text 500
    would lack the security headers; this guard sits inside SecurityHeaders (add it first) and answers itself.
    The cause goes to the log, in English with the traceback, never to the client. A crash after the response
    has started (a live stream) cannot be answered any more and is re-raised for the server to log.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            if started:
                raise
            log.exception("unhandled error answering %s %s", scope.get("method", ""), scope.get("path", ""))
            err = GatewayError(500, "internal_error")
            await JSONResponse(err.body(), status_code=500)(scope, receive, send)
