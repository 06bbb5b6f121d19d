"""The gateway app factory: `uvicorn --factory bot.gateway.app:create_app --port 8000`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.gateway import notices
from bot.gateway.config import GatewayConfig
from bot.gateway.context import Gateway
from bot.gateway.errors import (
    CrashGuard,
    GatewayError,
    database_error_handler,
    gateway_error_handler,
    http_error_handler,
    overloaded,
    validation_error_handler,
)
from bot.gateway.routes import agent, demo, metrics, ops, pages, shopper, trainer
from bot.gateway.security import SecurityHeaders, content_security_policy, docs_policy
from bot.metrics import PHOTO_REJECTIONS, HttpMetrics
from bot.overload import LoadShedder
from bot.policy import load_policy
from bot.settings import Settings, get_settings
from bot.trainer.report import STYLE as REPORT_STYLE

log = logging.getLogger(__name__)
_MULTIPART_OVERHEAD = 64 * 1024


def create_app(settings: Settings | None = None, config: GatewayConfig | None = None) -> FastAPI:
    """Build the app; clients (SQL, Redis, HTTP) are created in the lifespan, not at import."""
    settings = settings or get_settings()
    config = config or GatewayConfig.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.gateway = Gateway.build(settings, config)
        sweeper = notices.start_sweeper(app.state.gateway)  # money notices told outside any request
        try:
            yield
        finally:
            await notices.stop_sweeper(sweeper)
            await app.state.gateway.close()

    app = FastAPI(title="After-sales gateway", lifespan=lifespan, redoc_url=None)  # /docs is enough
    app.add_exception_handler(GatewayError, gateway_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)  # unknown paths, wrong methods
    app.add_exception_handler(OperationalError, database_error_handler)  # SQL busy or gone: 503, not 500
    app.middleware("http")(_refuse_huge_uploads)
    app.add_middleware(LoadShedder, refusal=overloaded)  # innermost: its 503 gets the headers below (bot/overload.py)
    app.add_middleware(CrashGuard)  # inside SecurityHeaders (added next), so a crash's 500 carries the headers
    # the trainer page opens the evaluation report as a blob: document under this policy
    csp = content_security_policy(REPORT_STYLE)
    app.add_middleware(SecurityHeaders, csp=csp, path_csp={app.docs_url or "/docs": docs_policy(app)})
    app.add_middleware(HttpMetrics)  # outermost: times every answer, refusals by the other middleware included
    app.include_router(shopper.router)
    app.include_router(agent.router)
    app.include_router(trainer.router)
    app.include_router(ops.router)
    app.include_router(pages.router)
    app.include_router(metrics.router)
    if config.demo:
        app.include_router(demo.router)

    @app.get("/api/config", include_in_schema=False)
    async def page_config() -> dict[str, object]:
        return {"demo": config.demo, "max_text_chars": config.max_text_chars}

    app.mount("/static", StaticFiles(directory=str(pages.STATIC)), name="static")
    return app


async def _refuse_huge_uploads(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Refuse an upload by its Content-Length before any of the body is read or spooled."""
    if request.method == "POST" and request.url.path.endswith("/photos"):
        limit = int(load_policy()["photos"]["max_bytes"]) + _MULTIPART_OVERHEAD
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            PHOTO_REJECTIONS.labels("too_large").inc()
            err = GatewayError(413, "too_large")
            return JSONResponse(err.body(), status_code=413, headers={"Connection": "close"})
    return await call_next(request)
