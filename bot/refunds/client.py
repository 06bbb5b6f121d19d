"""Typed async client of the refund service, used by the actions and the gateway."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Generator
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, parse_obj_as

from bot.refunds import schemas
from bot.refunds.complaints.schemas import ComplaintOut

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)
Model = TypeVar("Model", bound=BaseModel)
SERVICE_TOKEN_TTL = 3600  # seconds a service token lives
RENEW_BEFORE = 300  # a new one is minted when less than this is left
# An idempotent call (a GET, a POST carrying an Idempotency-Key, marking a notice delivered) that could not reach the
# service, timed out, or met a restarting one (502/503/504) is tried again after RETRY_FIRST_WAIT, doubling up to
# RETRY_MAX_WAIT, while RETRY_BUDGET seconds have not passed since the first try: a service killed after it
# committed answers the retry with what it did (the same key replays it), and a shopper still gets an answer in time.
RETRY_BUDGET = 5.0
RETRY_FIRST_WAIT = 0.1
RETRY_MAX_WAIT = 1.0
RETRY_STATUSES = frozenset({502, 503, 504})
# Transport failures after which the same request may be sent again (not a bad URL nor an unsupported protocol).
RETRY_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def segment(value: object) -> str:
    """`value` as one URL path segment, percent-escaped: an id can add no query (`?`), fragment, further segment or
    control character to the URL."""
    return quote(str(value), safe="")


class ServiceToken:
    """A `service` token that renews itself: `source()` is a token with at least RENEW_BEFORE seconds to live.

    Long-running callers (the gateway, the action server) hold one of these rather than a token minted at start,
    which would stop working when it ran out. `clock` is seconds since the epoch (tests move it).
    """

    def __init__(
        self,
        subject: str,
        *,
        ttl_seconds: int = SERVICE_TOKEN_TTL,
        renew_before: int = RENEW_BEFORE,
        clock: Callable[[], float] = time.time,
        settings: Settings | None = None,
    ) -> None:
        self._subject, self._ttl, self._renew_before = subject, ttl_seconds, renew_before
        self._clock, self._settings = clock, settings
        self._token, self._expires_at = "", 0.0

    def __call__(self) -> str:
        now = self._clock()
        if not self._token or self._expires_at - now < self._renew_before:
            from bot.tokens import mint

            self._token = mint("service", self._subject, self._ttl, settings=self._settings)
            self._expires_at = now + self._ttl
        return self._token


class _Bearer(httpx.Auth):
    """Sets `Authorization: Bearer <token>` on each request from the token source, so renewals take effect."""

    def __init__(self, token: Callable[[], str]) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token()}"
        yield request


class RefundsError(Exception):
    """The refund service refused a request (or could not be reached: status 0)."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


class RefundsClient:
    """`async with RefundsClient(base_url, token) as client: await client.get_order("O1001")`.

    `token` is a token, or a callable giving one for each request (a ServiceToken, for a client that lives long).
    """

    def __init__(
        self,
        base_url: str,
        token: str | Callable[[], str],
        *,
        timeout: float = 10.0,
        transport: Any = None,
        retry_budget: float = RETRY_BUDGET,
    ) -> None:
        self.token: Callable[[], str] = token if callable(token) else (lambda: token)
        self.retry_budget = retry_budget
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            auth=_Bearer(self.token),
            timeout=timeout,
            transport=transport,
        )

    @classmethod
    def from_settings(cls, subject: str = "actions") -> RefundsClient:
        """A client for the configured service URL with a service token that renews itself."""
        from bot.settings import get_settings

        return cls(get_settings().refunds_url, ServiceToken(subject))

    async def __aenter__(self) -> RefundsClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, *, idempotent: bool = False, **kwargs: Any) -> Any:
        """One call. An idempotent one (a GET, one with an Idempotency-Key, or `idempotent`) is sent again after a
        transport failure or a 502/503/504 while the retry budget lasts. A call given its own `timeout` is in a hurry
        (the gateway's look at the outbox inside a shopper's request, which its sweep repeats): it is tried once."""
        retry = idempotent or method == "GET" or "Idempotency-Key" in (kwargs.get("headers") or {})
        deadline = time.monotonic() + (0.0 if kwargs.get("timeout") is not None else self.retry_budget)
        wait = RETRY_FIRST_WAIT
        while True:
            try:
                response = await self._http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                if not (retry and isinstance(exc, RETRY_ERRORS)) or time.monotonic() + wait > deadline:
                    raise RefundsError(0, "unreachable", f"refund service unreachable: {exc!r}") from exc
                why = repr(exc)
            else:
                if not (retry and response.status_code in RETRY_STATUSES) or time.monotonic() + wait > deadline:
                    break  # an answer (a 502/503/504 out of time is read as any error below)
                why = f"HTTP {response.status_code}"
            log.info("%s %s failed (%s); trying again in %.1f s", method, path, why, wait)
            await asyncio.sleep(wait)
            wait = min(wait * 2, RETRY_MAX_WAIT)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail")
            except ValueError:
                detail = None
            if isinstance(detail, dict):
                raise RefundsError(response.status_code, str(detail.get("code")), str(detail.get("message")))
            raise RefundsError(response.status_code, "http_error", response.text[:200])
        return response.json()

    async def _one(self, model: type[Model], method: str, path: str, **kwargs: Any) -> Model:
        return model.parse_obj(await self._call(method, path, **kwargs))

    async def _many(self, model: type[Model], path: str, **kwargs: Any) -> list[Model]:
        return parse_obj_as(list[model], await self._call("GET", path, **kwargs))  # type: ignore[valid-type]

    async def create_order(self, order: schemas.OrderIn) -> schemas.OrderOut:
        return await self._one(schemas.OrderOut, "POST", "/orders", content=order.json())

    async def list_orders(self, shopper_id: str, limit: int = 10) -> list[schemas.OrderOut]:
        return await self._many(
            schemas.OrderOut, "/orders", params={"shopper_id": shopper_id, "limit": limit}
        )

    async def get_order(self, order_id: str, shopper_id: str | None = None) -> schemas.OrderOut:
        params = {"shopper_id": shopper_id} if shopper_id else None
        return await self._one(schemas.OrderOut, "GET", f"/orders/{segment(order_id)}", params=params)

    async def quote(
        self, order_id: str, line_id: str, quantity: int, shopper_id: str | None = None
    ) -> schemas.QuoteOut:
        params: dict[str, Any] = {"quantity": quantity}
        if shopper_id:
            params["shopper_id"] = shopper_id
        return await self._one(
            schemas.QuoteOut, "GET", f"/orders/{segment(order_id)}/lines/{segment(line_id)}/quote", params=params
        )

    async def get_photo(self, photo_id: str) -> schemas.PhotoOut:
        return await self._one(schemas.PhotoOut, "GET", f"/photos/{segment(photo_id)}")

    async def create_refund(
        self,
        *,
        shopper_id: str,
        order_id: str,
        line_id: str,
        quantity: int,
        case_type: str,
        idempotency_key: str,
        photo_ids: list[str] | None = None,
        conversation_id: str | None = None,
    ) -> schemas.RefundOut:
        body = schemas.RefundIn(
            shopper_id=shopper_id,
            order_id=order_id,
            line_id=line_id,
            quantity=quantity,
            case_type=case_type,
            photo_ids=photo_ids or [],
            conversation_id=conversation_id,
        )
        return await self._one(
            schemas.RefundOut,
            "POST",
            "/refunds",
            content=body.json(),
            headers={"Idempotency-Key": idempotency_key, "Content-Type": "application/json"},
        )

    async def get_refund(self, refund_id: str) -> schemas.RefundOut:
        return await self._one(schemas.RefundOut, "GET", f"/refunds/{segment(refund_id)}")

    async def list_refunds(self, shopper_id: str, limit: int = 50) -> list[schemas.RefundOut]:
        return await self._many(
            schemas.RefundOut, "/refunds", params={"shopper_id": shopper_id, "limit": limit}
        )

    async def approve(
        self, refund_id: str, *, decided_by: str, reason: str | None = None
    ) -> schemas.RefundOut:
        body = {"decided_by": decided_by, "reason": reason}
        return await self._one(schemas.RefundOut, "POST", f"/refunds/{segment(refund_id)}/approve", json=body)

    async def reject(
        self, refund_id: str, *, decided_by: str, reason: str | None = None
    ) -> schemas.RefundOut:
        body = {"decided_by": decided_by, "reason": reason}
        return await self._one(schemas.RefundOut, "POST", f"/refunds/{segment(refund_id)}/reject", json=body)

    async def settle(self, refund_id: str, *, decided_by: str = "system") -> schemas.RefundOut:
        body = {"decided_by": decided_by}
        return await self._one(schemas.RefundOut, "POST", f"/refunds/{segment(refund_id)}/settle", json=body)

    async def issue_coupon(
        self,
        *,
        shopper_id: str,
        order_id: str,
        line_id: str,
        quantity: int,
        idempotency_key: str,
        conversation_id: str | None = None,
    ) -> schemas.CouponOut:
        body = schemas.CouponIn(
            shopper_id=shopper_id,
            order_id=order_id,
            line_id=line_id,
            quantity=quantity,
            conversation_id=conversation_id,
        )
        return await self._one(
            schemas.CouponOut,
            "POST",
            "/coupons",
            content=body.json(),
            headers={"Idempotency-Key": idempotency_key, "Content-Type": "application/json"},
        )

    async def list_notifications(
        self,
        shopper_id: str | None = None,
        undelivered: bool = False,
        *,
        conversation_id: str | None = None,
        min_age_seconds: float = 0,
        limit: int = 100,
        timeout: float | None = None,
    ) -> list[schemas.NotificationOut]:
        """Oldest first; of a shopper, of a conversation, or (neither given) everyone's."""
        params: dict[str, Any] = {"undelivered": str(undelivered).lower(), "limit": limit}
        if shopper_id is not None:
            params["shopper_id"] = shopper_id
        if conversation_id is not None:
            params["conversation_id"] = conversation_id
        if min_age_seconds:
            params["min_age_seconds"] = min_age_seconds
        extra: dict[str, Any] = {"timeout": timeout} if timeout is not None else {}
        return await self._many(schemas.NotificationOut, "/notifications", params=params, **extra)

    async def mark_delivered(self, notification_id: int) -> schemas.NotificationOut:
        """Idempotent: the first delivery time wins."""
        return await self._one(
            schemas.NotificationOut, "POST", f"/notifications/{segment(notification_id)}/delivered", idempotent=True
        )

    async def period_stats(self, since: datetime, until: datetime) -> dict[str, Any]:
        """GET /stats/period: the refund side of the /ops page (plain JSON)."""
        params = {"since": since.isoformat(), "until": until.isoformat()}
        return dict(await self._call("GET", "/stats/period", params=params))

    async def first_money(self, since: datetime, until: datetime) -> dict[str, Any]:
        """GET /stats/first-money: per conversation, the first money paid in the period (two long lists)."""
        params = {"since": since.isoformat(), "until": until.isoformat()}
        return dict(await self._call("GET", "/stats/first-money", params=params))

    async def alerts(self) -> dict[str, Any]:
        """GET /alerts: the systemic-issue alerts standing now."""
        return dict(await self._call("GET", "/alerts"))

    async def create_complaint(
        self, *, shopper_id: str, conversation_id: str, text: str, idempotency_key: str
    ) -> ComplaintOut:
        body = {"shopper_id": shopper_id, "conversation_id": conversation_id, "text": text}
        return await self._one(ComplaintOut, "POST", "/complaints", json=body,
                               headers={"Idempotency-Key": idempotency_key})
