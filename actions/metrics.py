"""The action server's `GET /metrics` and the timing of every action run, attached to rasa_sdk's Sanic app.

`python -m rasa_sdk` imports every module of this package (`ActionExecutor.register_package`) while it builds its app,
and then calls its plugin manager's hook `attach_sanic_app_extensions(app)` before serving. Importing this module
registers a plugin with that manager; the hook adds a middleware timing each `POST /webhook` by the action it names
and the `/metrics` route (ops or service tokens, bot/metrics.py). Nothing else runs at import.
"""

from __future__ import annotations

import json
import re
import time
import zlib
from typing import Any

import pluggy
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import BaseHTTPResponse, HTTPResponse

from bot import metrics

hookimpl = pluggy.HookimplMarker("rasa_sdk")
UNKNOWN = "<unknown>"  # an action the server does not have (404): a name sent to it is not a label
_ACTION_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
# What an error status of the webhook means (rasa_sdk.endpoint): 400 an ActionExecutionRejection (or no body),
# 404 no such action, 500 the action raised.
ERROR_KINDS = {400: "rejected", 404: "not_found", 500: "exception"}


def action_called(request: Request) -> str:
    """The action a webhook request asks for (`next_action`), as rasa_sdk reads it; UNKNOWN if unreadable."""
    try:
        if request.headers.get("Content-Encoding") == "deflate":
            call: Any = json.loads(zlib.decompress(request.body))
        else:
            call = request.json  # parsed once by Sanic and kept: the webhook read it already
    except (ValueError, zlib.error):
        return UNKNOWN
    name = call.get("next_action") if isinstance(call, dict) else None
    return name if isinstance(name, str) and _ACTION_NAME.fullmatch(name) else UNKNOWN


async def start_clock(request: Request) -> None:
    # Sanic runs the request middleware again before an error response: keep the first start
    if not hasattr(request.ctx, "metrics_started"):
        request.ctx.metrics_started = time.perf_counter()


async def observe_action(request: Request, resp: BaseHTTPResponse) -> None:
    if request.path != "/webhook" or request.method != "POST" or not hasattr(request.ctx, "metrics_started"):
        return
    action = UNKNOWN if resp.status == 404 else action_called(request)
    metrics.ACTION_LATENCY.labels(action).observe(time.perf_counter() - request.ctx.metrics_started)
    if resp.status >= 400:
        metrics.ACTION_ERRORS.labels(action, ERROR_KINDS.get(resp.status, "exception")).inc()


async def read_metrics(request: Request) -> HTTPResponse:
    if not metrics.may_read(request.headers.get("Authorization"), metrics.INTERNAL_READERS):
        body = {"error": "Authorization: Bearer <ops or service token> is required"}
        return response.json(body, status=401, headers={"WWW-Authenticate": "Bearer"})
    text, content_type = metrics.exposition(metrics.ACTIONS)
    return response.raw(text, content_type=content_type)


class ActionServerMetrics:
    """The rasa_sdk plugin (pluggy) that instruments the action server's Sanic app."""

    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        app.register_middleware(start_clock, "request")
        app.register_middleware(observe_action, "response")
        app.add_route(read_metrics, "/metrics", methods=["GET"])


PLUGIN = ActionServerMetrics()


def register() -> None:
    """Register the plugin with rasa_sdk's (process-wide, cached) plugin manager, once."""
    manager = plugin_manager()
    if not manager.is_registered(PLUGIN):
        manager.register(PLUGIN)


register()
