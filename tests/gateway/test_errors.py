"""Every refusal of the gateway reads in Chinese: {code, message_zh, message_en, detail}, never a bare 500.

Found by fuzzing the OpenAPI schema (tests/fuzz/test_openapi_fuzz.py); each test here failed before its fix.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from bot.gateway.app import create_app
from bot.gateway.config import GatewayConfig
from bot.settings import Settings
from bot.tokens import mint
from tests.gateway.conftest import Rig, auth
from tests.gateway.servers import ThreadedServer
from tests.gateway.test_pages_security import ON_SQLITE, assert_hardened

CJK = re.compile(r"[\u4e00-\u9fff]")
HUGE = 2**70  # more than any SQL integer holds


def assert_refused(resp: httpx.Response, status: int, code: str | None = None) -> dict:
    """A gateway error body a shopper's app can show: the status, a stable code, a Chinese and an English reason."""
    assert resp.status_code == status, (resp.request.method, resp.request.url, resp.status_code, resp.text)
    body = resp.json()
    assert {"code", "message_zh", "message_en", "detail"} <= set(body), body
    assert CJK.search(body["message_zh"]) and body["message_en"], body
    if code is not None:
        assert body["code"] == code, body
    return dict(body)


def test_a_malformed_request_is_refused_in_chinese(rig: Rig) -> None:
    cid = rig.open("s1")
    s1 = rig.shopper("s1")
    as_json = {**s1, "Content-Type": "application/json"}
    boss = auth(mint("supervisor", "boss"))
    trainer = auth(mint("trainer", "t1"))
    for resp in (
        rig.post(f"/api/conversations/{cid}/messages", as_json, content=b'{"text": "broken'),
        rig.post(f"/api/conversations/{cid}/messages", s1, json=["商品坏了"]),
        rig.post(f"/api/conversations/{cid}/messages", s1, json={"button": "/x" * 600}),
        rig.post("/api/conversations", s1, json={"order_id": "O 1001"}),
        rig.post(f"/api/agent/conversations/{cid}/assign", boss, json={"agent_id": "bad id!"}),
        rig.get("/api/trainer/inbox?days=-1", trainer),
        rig.get(f"/api/conversations/{cid}/messages?after=abc", s1),
    ):
        body = assert_refused(resp, 422, "invalid_request")
        assert body["errors"], body  # which field, for the app's developers
    assert rig.post(f"/api/conversations/{cid}/messages", s1, json={"text": "你好"}).status_code == 200


def test_unknown_paths_and_wrong_methods_answer_in_chinese(rig: Rig) -> None:
    s1 = rig.shopper("s1")
    assert_refused(rig.get("/api/no/such/thing", s1), 404, "no_such_path")
    assert_refused(rig.get("/no/such/page", {}), 404, "no_such_path")
    assert_refused(rig.get("/static/no-such-file.js", {}), 404, "no_such_path")
    wrong = rig.client.delete(rig.url + "/api/conversations", headers=s1)
    assert_refused(wrong, 405, "method_not_allowed")
    assert "POST" in wrong.headers["allow"]
    assert_refused(rig.client.put(rig.url + "/agent"), 405, "method_not_allowed")
    # the pages and their files are served as before
    page = rig.get("/", {})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html") and "<html" in page.text
    script = rig.get("/static/chat.js", {})
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert rig.get("/agent", {}).status_code == 200 and rig.get("/trainer", {}).status_code == 200


def opened(rig: Rig, path: str, headers: dict[str, str]) -> httpx.Response:
    """A live stream's answer, without following it: a stream that started would never end."""
    with rig.client.stream("GET", rig.url + path, headers=headers) as resp:
        if resp.status_code != 200:
            resp.read()
        return resp


def test_huge_numbers_are_refused_in_chinese(rig: Rig) -> None:
    cid = rig.open("s1")
    s1, a1 = rig.shopper("s1"), rig.agent("a1")
    trainer = auth(mint("trainer", "t1"))
    label = {"intent": "greet", "entities": [{"start": HUGE, "end": HUGE + 1, "entity": "item"}]}
    for resp in (
        rig.get(f"/api/conversations/{cid}/messages?after={HUGE}", s1),
        rig.get(f"/api/agent/conversations/{cid}/messages?after={HUGE}", a1),
        rig.get(f"/api/agent/conversations/{cid}/messages?after={-HUGE}", a1),
        rig.post(f"/api/agent/conversations/{cid}/messages/{HUGE}/misunderstood", a1),
        rig.get(f"/api/trainer/inbox/{HUGE}", trainer),
        rig.post(f"/api/trainer/inbox/{HUGE}/dismiss", trainer),
        rig.post("/api/trainer/inbox/1/label", trainer, json=label),
        opened(rig, f"/api/conversations/{cid}/stream?after={HUGE}", s1),
        opened(rig, f"/api/conversations/{cid}/stream", {**s1, "Last-Event-ID": str(HUGE)}),
        opened(rig, f"/api/agent/conversations/{cid}/stream?after={HUGE}", a1),
    ):
        assert_refused(resp, 422, "invalid_request")
    # numbers a client really sends still work
    assert [m["seq"] for m in rig.get(f"/api/conversations/{cid}/messages?after=0", s1).json()["messages"]] == [1]
    assert rig.get(f"/api/conversations/{cid}/messages?after={2**31 - 1}", s1).json()["messages"] == []


def test_nul_characters_neither_break_the_chat_nor_reach_the_transcript(rig: Rig) -> None:
    """A NUL is invisible and never meant: a shopper's or an agent's text is kept without it (refusing the message
    would lose words the person can see and cannot fix); an id or a name with one names nothing."""
    cid = rig.open("s1")
    s1, a1 = rig.shopper("s1"), rig.agent("a1")
    sent = rig.post(f"/api/conversations/{cid}/messages", s1, json={"text": "笔\x00坏了"})
    assert sent.status_code == 200, sent.text
    assert sent.json()["messages"][0]["text"] == "笔坏了"
    assert rig.rasa.events(cid)[-1]["text"] == "笔坏了"
    assert rig.post(f"/api/conversations/{cid}/messages", s1, json={"text": "\x00"}).json()["code"] == "empty_message"
    assert rig.post(f"/api/conversations/{cid}/handoff", s1).status_code == 200
    assert rig.post(f"/api/agent/conversations/{cid}/claim", a1).status_code == 200
    reply = rig.post(f"/api/agent/conversations/{cid}/messages", a1, json={"text": "您好\x00，我来看看"})
    assert reply.status_code == 200 and reply.json()["messages"][0]["text"] == "您好，我来看看"

    assert_refused(rig.get("/api/conversations/c%00x/messages", s1), 404, "not_found")
    assert_refused(rig.get("/api/agent/conversations/c%00x", a1), 404, "not_found")
    assert_refused(rig.get("/api/orders/O1001%00", s1), 404, "order_not_found")
    assert_refused(rig.get("/api/agent/refunds/rf%00", a1), 404, "refund_not_found")
    assert_refused(rig.post("/api/agent/refunds/rf%00/approve", a1, json={"reason": "ok"}), 404, "refund_not_found")
    assert_refused(rig.get("/api/photos/ab%00", s1), 404, "photo_not_found")
    body = rig.post("/api/conversations", s1, json={"order_id": "O1001\x00"})
    assert_refused(body, 422, "invalid_request")
    trainer = auth(mint("trainer", "t1"))
    assert rig.post("/api/trainer/inbox/1/label", trainer, json={"intent": "greet\x00"}).status_code in (404, 422)
    token = rig.post("/api/demo/token", {}, json={"role": "shopper", "subject": "s1\x00"})
    assert_refused(token, 422, "invalid_request")


@pytest.fixture
def broken_gateway(env: dict[str, str], redis_client: redis.Redis, tmp_path: Path) -> Iterator[str]:
    """A gateway whose SQL database has none of its tables (say, a deploy that skipped the migrations)."""
    empty = tmp_path / "not-migrated.sqlite3"
    settings = dataclasses.replace(Settings.from_env(), database_url=f"sqlite:///{empty}")
    with ThreadedServer(create_app(settings, GatewayConfig(notice_sweep_seconds=0))) as gw:
        yield gw.url


@ON_SQLITE
def test_a_crash_answers_in_chinese_with_the_security_headers(
    broken_gateway: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="bot.gateway"):
        resp = httpx.get(broken_gateway + "/api/conversations", headers=auth(mint("shopper", "s1")))
    body = assert_refused(resp, 500, "internal_error")
    assert "系统繁忙" in body["message_zh"]
    assert "no such table" not in resp.text  # the cause is for the log, not for the shopper
    assert_hardened(resp)
    crash = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert crash and "GET /api/conversations" in crash[0].getMessage() and "no such table" in caplog.text
