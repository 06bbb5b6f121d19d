"""Security headers on every gateway response: pages, static files, API answers, errors and live streams.

The pages load their code and styles from /static only (no inline script, style attribute or event handler);
pictures are same-origin, `blob:` (photos fetched with the bearer token) or `data:` (the empty favicon). The
evaluation report opens as a `blob:` document that inherits this policy; its one inline <style> is allowed by hash.
FastAPI's /docs page gets its own policy: its CDN and its one inline script, allowed by hash.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOCS_CDN = "https://cdn.jsdelivr.net"


def inline_hash(text: str) -> str:
    """The CSP source allowing exactly one inline <style> or <script> element with this text."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def content_security_policy(*inline_styles: str, scripts: tuple[str, ...] = (), styles: tuple[str, ...] = (),
                            images: tuple[str, ...] = ("data:", "blob:")) -> str:
    return "; ".join([
        "default-src 'self'",
        " ".join(["script-src 'self'", *scripts]),
        " ".join(["style-src 'self'", *styles, *map(inline_hash, inline_styles)]),
        " ".join(["img-src 'self'", *images]),
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def docs_policy(app: FastAPI) -> str:
    """The policy of FastAPI's Swagger page (rendered here as FastAPI renders it): its CDN and its inline script."""
    body = get_swagger_ui_html(
        openapi_url=app.openapi_url or "",
        title=f"{app.title} - Swagger UI",
        oauth2_redirect_url=app.swagger_ui_oauth2_redirect_url,
        init_oauth=app.swagger_ui_init_oauth,
        swagger_ui_parameters=app.swagger_ui_parameters,
    ).body
    html = bytes(body).decode()
    inline = tuple(inline_hash(s) for s in re.findall(r"<script>(.*?)</script>", html, re.S))
    return content_security_policy(scripts=(DOCS_CDN, *inline), styles=(DOCS_CDN,),
                                   images=("data:", "https://fastapi.tiangolo.com"))


class SecurityHeaders:
    """Pure ASGI middleware (streams pass through untouched) that sets the headers on every response start."""

    def __init__(self, app: ASGIApp, csp: str, path_csp: dict[str, str] | None = None) -> None:
        self.app = app
        self.csp = csp.encode()
        self.path_csp = {path: policy.encode() for path, policy in (path_csp or {}).items()}
        self.headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
        ]
        self.names = {b"content-security-policy", *(name for name, _ in self.headers)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        csp = self.path_csp.get(scope["path"], self.csp)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in self.names]
                message = {**message, "headers": [*kept, (b"content-security-policy", csp), *self.headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
