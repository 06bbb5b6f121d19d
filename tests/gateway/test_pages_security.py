"""Every gateway response carries the security headers, and the pages need nothing the policy forbids."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest

from bot.gateway.routes.pages import STATIC
from bot.gateway.security import DOCS_CDN, inline_hash
from tests.gateway.conftest import Rig

ON_SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the headers do not depend on the database

PAGE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "img-src": "'self' data: blob:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}


def policy(resp: httpx.Response) -> dict[str, str]:
    directives = (d.strip().split(" ", 1) for d in resp.headers["content-security-policy"].split(";"))
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives}


def assert_hardened(resp: httpx.Response) -> dict[str, str]:
    assert resp.headers["x-content-type-options"] == "nosniff", resp.url
    assert resp.headers["referrer-policy"] == "no-referrer", resp.url
    assert resp.headers["x-frame-options"] == "DENY", resp.url
    assert len(resp.headers.get_list("content-security-policy")) == 1, resp.url
    return policy(resp)


@ON_SQLITE
def test_pages_static_files_and_api_answers_carry_the_headers(rig: Rig) -> None:
    cid = rig.open("s1")
    responses = [
        httpx.get(rig.url + "/"),
        httpx.get(rig.url + "/agent"),
        httpx.get(rig.url + "/trainer"),
        httpx.get(rig.url + "/static/chat.js"),
        httpx.get(rig.url + "/static/style.css"),
        httpx.get(rig.url + "/api/config"),
        rig.get("/api/orders", rig.shopper("s1")),
        rig.get(f"/api/conversations/{cid}/messages", rig.shopper("s1")),
        httpx.get(rig.url + "/api/orders"),  # 401
        httpx.get(rig.url + "/no/such/page"),  # 404
    ]
    for resp in responses:
        csp = assert_hardened(resp)
        assert {k: csp.get(k) for k in PAGE_POLICY} == PAGE_POLICY, resp.url
        assert "unsafe-inline" not in resp.headers["content-security-policy"], resp.url
    assert [r.status_code for r in responses] == [200] * 8 + [401, 404]

    with httpx.Client(timeout=10) as client, client.stream(
        "GET", f"{rig.url}/api/conversations/{cid}/stream", headers=rig.shopper("s1")
    ) as stream:  # the live stream too, without buffering it
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert policy(stream)["script-src"] == "'self'" and stream.headers["x-frame-options"] == "DENY"


@ON_SQLITE
def test_the_docs_page_may_run_its_own_inline_script_and_nothing_else(rig: Rig) -> None:
    resp = httpx.get(rig.url + "/docs")
    csp = assert_hardened(resp)
    inline = re.findall(r"<script>(.*?)</script>", resp.text, re.S)
    assert len(inline) == 1
    assert csp["script-src"].split() == ["'self'", DOCS_CDN, inline_hash(inline[0])]
    assert "unsafe-inline" not in resp.headers["content-security-policy"]
    assert httpx.get(rig.url + "/redoc").status_code == 404


class _Inline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style>")
        self.found += [f"{tag} {name}=" for name in names if name == "style" or name.startswith("on")]
        urls = [k for k, v in attrs if (v or "").strip().lower().startswith("javascript:")]
        self.found += [f"{tag} {k}=javascript:" for k in urls]


@pytest.mark.parametrize("page", sorted(p.name for p in STATIC.glob("*.html")))
def test_pages_have_no_inline_script_style_or_handler(page: str) -> None:
    parser = _Inline()
    parser.feed((STATIC / page).read_text(encoding="utf-8"))
    assert parser.found == []
