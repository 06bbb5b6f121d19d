"""Prometheus metrics of every service (contract §8a: `GET /metrics`), with stable names prefixed `aftersales_`.

Each service renders its own registry (GATEWAY, REFUNDS, ACTIONS), so a scrape shows only what that process counts.
When PROMETHEUS_MULTIPROC_DIR is set (several uvicorn or Sanic workers), prometheus-client keeps every value in
files there and `exposition` sums the workers' files instead: one directory per service, emptied before it starts
(`python -m bot.launch` does both). Money is counted in fen (cents), as the refund service stores it; the dashboard
divides by 100. Rasa 3.6 itself exports no metrics: the gateway's `aftersales_bot_answer_seconds` is Rasa's latency
as a shopper feels it. Who may read: `readers` below and docs/operations in the README ("Metrics").
"""

from __future__ import annotations

import functools
import inspect
import os
import time
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.tokens import TokenError, verify

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Who may read /metrics. The gateway (public) also takes a supervisor's token and checks staff tokens against its
# revocation deny-list (bot/gateway/deps.py); the internal services have no deny-list, so they take ops and service
# tokens only. Prometheus sends a service token from a file (deploy/prometheus/prometheus.yml).
GATEWAY_READERS = ("ops", "supervisor", "service")
INTERNAL_READERS = ("ops", "service")

disable_created_metrics()  # no `_created` series: Prometheus detects counter resets without them

GATEWAY = CollectorRegistry()
REFUNDS = CollectorRegistry()
ACTIONS = CollectorRegistry()

_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BOT = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)

# ---- both FastAPI services -------------------------------------------------------------------------------------
HTTP_LATENCY = Histogram(
    "aftersales_http_request_duration_seconds",
    "Time to the response's first byte, by route template (never the raw path), method and status class (2xx..5xx).",
    ["route", "method", "status"], buckets=_FAST, registry=None,
)
GATEWAY.register(HTTP_LATENCY)
REFUNDS.register(HTTP_LATENCY)

# ---- gateway ---------------------------------------------------------------------------------------------------
BOT_ANSWER = Histogram(
    "aftersales_bot_answer_seconds",
    "How long the gateway waited for Rasa's answer, by event (text, button, photo, start, human) and outcome "
    "(answered, unavailable: Rasa down or timed out, refused: the channel refused the event).",
    ["event", "outcome"], buckets=_BOT, registry=GATEWAY,
)
TURNS = Counter(
    "aftersales_turns", "Shopper events the gateway forwarded to the bot, by event type.", ["event"], registry=GATEWAY
)
HANDOFFS = Counter(
    "aftersales_handoffs", "Conversations put in the agent queue, by reason (asked, risk, appeal, complaint, "
    "fallback).", ["reason"], registry=GATEWAY,
)
FALLBACKS = Counter(
    "aftersales_fallbacks", "Shopper texts the model did not understand (parse nlu_fallback); every fallback answer, "
    "core fallbacks included, is aftersales_action_duration_seconds_count{action=\"action_fallback\"}.",
    ["kind"], registry=GATEWAY,
)
PHOTO_REJECTIONS = Counter(
    "aftersales_photo_rejections", "Photo uploads refused, by code (too_large, not_an_image, bad_kind, ...).",
    ["code"], registry=GATEWAY,
)

# ---- refund service (counted after the transaction committed) --------------------------------------------------
REFUNDS_CREATED = Counter(
    "aftersales_refunds_created", "Refunds created (replays not counted), by case type and the state creation left "
    "them in: settled (auto-settled, 极速退款) or needs_review.", ["case_type", "state"], registry=REFUNDS,
)
REFUND_DECISIONS = Counter(
    "aftersales_refund_decisions", "Staff decisions on refunds under review: approved (then settled) or rejected.",
    ["decision"], registry=REFUNDS,
)
REFUNDED_CENTS = Counter(
    "aftersales_refunded_cents", "Money paid back (settled refunds), in fen (1/100 yuan), by case type.",
    ["case_type"], registry=REFUNDS,
)
COUPONS_ISSUED = Counter("aftersales_coupons_issued", "Coupons issued (replays not counted).", registry=REFUNDS)
COUPON_CENTS = Counter(
    "aftersales_coupon_value_cents", "Face value of the coupons issued, in fen (1/100 yuan).", registry=REFUNDS
)

# ---- action server ---------------------------------------------------------------------------------------------
ACTION_LATENCY = Histogram(
    "aftersales_action_duration_seconds", "Time the action server took to run an action for Rasa, by action name.",
    ["action"], buckets=_FAST, registry=ACTIONS,
)
ACTION_ERRORS = Counter(
    "aftersales_action_errors", "Action runs that failed, by action and kind: exception (500 to Rasa), rejected "
    "(ActionExecutionRejection), not_found, service_down (the refund service failed; the shopper was told).",
    ["action", "kind"], registry=ACTIONS,
)

if not os.environ.get(MULTIPROC_ENV):  # process figures are per process: meaningless summed over workers
    for _registry in (GATEWAY, REFUNDS, ACTIONS):
        ProcessCollector(registry=_registry)
        PlatformCollector(registry=_registry)


def exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The Prometheus text of `registry` (every worker's values summed in multiprocess mode) and its content type."""
    if os.environ.get(MULTIPROC_ENV):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        return generate_latest(merged), CONTENT_TYPE_LATEST
    return generate_latest(registry), CONTENT_TYPE_LATEST


def may_read(authorization: str | None, roles: tuple[str, ...] = INTERNAL_READERS) -> bool:
    """Whether `Authorization: Bearer <token>` names one of `roles` (signature and lifetime checked)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    try:
        verify(token.strip(), *roles)
    except TokenError:
        return False
    return True


# ---- recording helpers (one line at each call site) ------------------------------------------------------------


def refund_created(*, case_type: str, state: str, amount_cents: int) -> None:
    REFUNDS_CREATED.labels(case_type, state).inc()
    if state == "settled":
        REFUNDED_CENTS.labels(case_type).inc(amount_cents)


def refund_decided(*, decision: str, case_type: str, state: str, amount_cents: int) -> None:
    """An agent's approval (the refund is settled then) or rejection."""
    REFUND_DECISIONS.labels(decision).inc()
    if state == "settled":
        REFUNDED_CENTS.labels(case_type).inc(amount_cents)


def refund_settled(*, case_type: str, amount_cents: int) -> None:
    REFUNDED_CENTS.labels(case_type).inc(amount_cents)


def coupon_issued(*, value_cents: int) -> None:
    COUPONS_ISSUED.inc()
    COUPON_CENTS.inc(value_cents)


P = ParamSpec("P")
T = TypeVar("T")


def timed_bot_answer(ask: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Decorate the gateway's one call to Rasa (its argument `event` names the event): count the turn, time the
    wait, and count a parse that fell back. A None result means Rasa could not be reached; an exception that the
    channel refused the event."""
    signature = inspect.signature(ask)

    @functools.wraps(ask)
    async def timed(*args: P.args, **kwargs: P.kwargs) -> T:
        event = str(signature.bind_partial(*args, **kwargs).arguments.get("event", "unknown"))
        TURNS.labels(event).inc()
        started, outcome = time.perf_counter(), "refused"
        try:
            answer = await ask(*args, **kwargs)
            outcome = "unavailable" if answer is None else "answered"
        finally:
            BOT_ANSWER.labels(event, outcome).observe(time.perf_counter() - started)
        nlu = getattr(answer, "nlu", None)
        if isinstance(nlu, dict) and nlu.get("intent") == "nlu_fallback":
            FALLBACKS.labels("nlu_fallback").inc()
        return answer

    return timed


# ---- HTTP request latency for the FastAPI apps -----------------------------------------------------------------

UNMATCHED = "<unmatched>"  # a path no route matched (404): raw paths would make one series per probe


def route_template(scope: Scope) -> str:
    """The template of the route that handled the request (`/api/conversations/{cid}/messages`), read from the
    scope after routing (FastAPI's routes put themselves in it, a Mount or a plain Starlette route its endpoint), else
    by matching the routes (a request a middleware answered before routing)."""
    route = scope.get("route")
    if route is not None and getattr(route, "path", None):
        return str(route.path)
    endpoint = scope.get("endpoint")
    routes = list(getattr(getattr(scope.get("app"), "router", None), "routes", ()))
    for candidate in routes if endpoint is not None else ():
        if getattr(candidate, "endpoint", None) is endpoint:
            return str(candidate.path)
        if getattr(candidate, "app", None) is endpoint:  # a Mount (static files): one series for all its paths
            return f"{candidate.path}/{{path}}"
    # not routed: refused by a middleware before routing (a huge upload), or no route has this path (404)
    for candidate in routes if endpoint is None else ():
        if candidate.matches(scope)[0] is not Match.NONE:
            return str(candidate.path) + ("/{path}" if isinstance(candidate, Mount) else "")
    return UNMATCHED


class HttpMetrics:
    """ASGI middleware (outermost): observes aftersales_http_request_duration_seconds at each response's start, so a
    live stream counts its time to open, not the minutes it stays open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, observed = time.perf_counter(), False

        def observe(status: int) -> None:
            nonlocal observed
            observed = True
            HTTP_LATENCY.labels(route_template(scope), scope["method"], f"{status // 100}xx").observe(
                time.perf_counter() - started
            )

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not observed:
                observe(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            if not observed:  # the app crashed before answering: the server answers 500
                observe(500)

