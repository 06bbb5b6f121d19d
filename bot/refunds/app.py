"""The refund service app: `uvicorn --factory bot.refunds.app:create_app --port 8001`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot import faults, metrics
from bot.db import make_engine, reading
from bot.overload import LoadShedder
from bot.refunds.complaints import routes as complaints
from bot.refunds.deps import require_service, storable_text
from bot.refunds.errors import ServiceError, Unauthorized
from bot.refunds.routes import coupons, ops, orders, outbox, photos, refunds
from bot.settings import get_settings


def _error(status: int, code: str, message: str, **extra: object) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"detail": {"code": code, "message": message, **extra}}, status, headers=headers)


def _overloaded(retry_after: int) -> JSONResponse:
    response = _error(503, "overloaded", "too many requests at once; try again shortly")
    response.headers["Retry-After"] = str(retry_after)
    return response


def create_app(database_url: str | None = None) -> FastAPI:
    """Build the app with its own engine (never at import time)."""
    engine = make_engine(database_url or get_settings().database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(title="Refund service", version="1", lifespan=lifespan)
    app.add_middleware(LoadShedder, refusal=_overloaded)  # bot/overload.py: a burst's excess gets a quick 503
    app.add_middleware(metrics.HttpMetrics)  # outermost: shed requests are timed too
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker(bind=engine, future=True, expire_on_commit=False)
    app.state.reader = reading(engine)  # GET requests' sessions (bot/refunds/deps.py get_session)
    faults.install_sql(app.state.sessionmaker)  # tests/faults only (BOT_FAULTS); nothing when unset

    @app.exception_handler(ServiceError)
    async def _service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(OperationalError)
    async def _database_unavailable(_request: Request, _exc: OperationalError) -> JSONResponse:
        """The SQL connection was lost (or SQLite stayed busy): 503, which RefundsClient retries for idempotent calls
        (a commit that did happen before the connection went is replayed under its Idempotency-Key)."""
        return _error(503, "database_unavailable", "the database could not be reached; try again")

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(
            422, "invalid_request", "the request is malformed", errors=jsonable_encoder(exc.errors())
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """Starlette's own refusals (no such path, wrong method, a body it cannot parse) in the same shape."""
        code = {404: "no_such_path", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
        response = _error(exc.status_code, code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    def read_metrics(request: Request) -> Response:
        """Prometheus text, for an ops or service token (bot/metrics.py)."""
        if not metrics.may_read(request.headers.get("authorization"), metrics.INTERNAL_READERS):
            raise Unauthorized("metrics_readers_only", "Authorization: Bearer <ops or service token> is required")
        body, content_type = metrics.exposition(metrics.REFUNDS)
        return Response(body, media_type=content_type)

    for module in (orders, refunds, coupons, photos, outbox, complaints, ops):
        app.include_router(module.router, dependencies=[Depends(require_service), Depends(storable_text)])
    return app
