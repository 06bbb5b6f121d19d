"""Staff permissions (holder only, supervisors), the append-only audit log, and staff token lifetimes and
revocation. Time is moved with a controllable clock (bot.tokens.clock), never slept."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import jwt
import pytest
from fastapi.routing import APIRoute
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot import audit, tokens
from bot.cli import main as cli
from bot.gateway.app import create_app
from bot.gateway.config import GatewayConfig
from bot.gateway.deps import _staff
from bot.gateway.errors import GatewayError
from bot.gateway.keys import Keys
from bot.gateway.store import Database
from bot.settings import get_settings
from bot.tokens import STAFF_MAX_TTL, mint
from tests.gateway.conftest import Rig, auth
from tests.gateway.servers import free_port
from tests.gateway.test_handoff import _refund
from tests.gateway.test_trainer_inbox import inbox, say, trainer


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """bot.tokens' clock, shared by the tests' minting and the in-process gateway's checks."""
    fake = Clock()
    monkeypatch.setattr(tokens, "clock", fake)
    return fake


def _audit(rig: Rig, cid: str, who: dict[str, str]) -> list[tuple]:
    entries = rig.get(f"/api/agent/conversations/{cid}", who).json()["audit"]
    return [(e["action"], e["actor_role"], e["actor"], e["before"], e["after"]) for e in entries]


def _queued_with_refund(rig: Rig, key: str) -> tuple[str, str]:
    cid = rig.open("s2", "O2001")
    refund = _refund(rig, "s2", "O2001", "O2001-2", cid, key)
    assert refund["state"] == "needs_review"
    rig.post(f"/api/conversations/{cid}/handoff", rig.shopper("s2"))
    return cid, refund["refund_id"]


def test_only_the_holder_replies_and_decides_and_each_step_is_audited(rig: Rig) -> None:
    cid, rid = _queued_with_refund(rig, "k-holder")
    a1, a2 = rig.agent("a1"), rig.agent("a2")
    assert rig.post(f"/api/agent/conversations/{cid}/claim", a1).status_code == 200
    for path, body in ((f"/api/agent/conversations/{cid}/messages", {"text": "插话"}),
                       (f"/api/agent/refunds/{rid}/approve", {}), (f"/api/agent/refunds/{rid}/reject", {}),
                       (f"/api/agent/conversations/{cid}/release", None)):
        resp = rig.post(path, a2, json=body)
        assert resp.status_code == 403 and resp.json()["code"] == "not_holder", (path, resp.text)
        assert resp.json()["message_zh"] == "您当前没有接管该会话，请先接入"
    assert rig.post(f"/api/agent/conversations/{cid}/messages", a1, json={"text": "我来处理"}).status_code == 200
    rejected = rig.post(f"/api/agent/refunds/{rid}/reject", a1, json={"reason": "照片看不清"})
    assert rejected.status_code == 200 and rejected.json()["refund"]["state"] == "rejected"
    assert rig.post(f"/api/agent/conversations/{cid}/release", a1).status_code == 200

    assert _audit(rig, cid, a2) == [
        ("claim", "agent", "a1", {"holder": "queue"}, {"holder": "agent:a1"}),
        ("reject", "agent", "a1", {"state": "needs_review"}, {"state": "rejected"}),
        ("release", "agent", "a1", {"holder": "agent:a1"}, {"holder": "bot"}),
    ]
    entries = rig.get(f"/api/agent/conversations/{cid}", a1).json()["audit"]
    assert entries[1]["refund_id"] == rid and entries[1]["detail"] == {"reason": "照片看不清"}
    assert all(e["at"] for e in entries)


def test_the_audit_log_cannot_be_changed(rig: Rig) -> None:
    cid, _rid = _queued_with_refund(rig, "k-append")
    assert rig.post(f"/api/agent/conversations/{cid}/claim", rig.agent("a1")).status_code == 200
    # no endpoint so much as names it, and the gateway has no PUT, PATCH or DELETE at all
    routes = [r for r in create_app(rig.settings, GatewayConfig(demo=True)).routes if isinstance(r, APIRoute)]
    assert not [r.path for r in routes if "audit" in r.path]
    assert {m for r in routes for m in r.methods} <= {"GET", "POST"}
    # and the database refuses to change or remove an entry (triggers, on SQLite and PostgreSQL)
    db = Database(rig.db_url)
    try:
        for statement in ("UPDATE audit_log SET actor = 'someone_else'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"):
                db.run_sync(lambda s, q=statement: s.execute(text(q)))
        assert [e["actor"] for e in db.run_sync(audit.for_conversation, cid)] == ["a1"]
    finally:
        db.dispose()


def test_a_supervisor_assigns_and_decides_any_refund(rig: Rig) -> None:
    cid, rid = _queued_with_refund(rig, "k-assign")
    boss, a1, a2 = auth(mint("supervisor", "boss")), rig.agent("a1"), rig.agent("a2")
    assign = f"/api/agent/conversations/{cid}/assign"
    assert rig.post(assign, a1, json={"agent_id": "a1"}).status_code == 401  # agents do not assign
    assert rig.get("/api/agent/me", boss).json() == {"agent_id": "boss", "role": "supervisor"}

    first = rig.post(assign, boss, json={"agent_id": "a1"})
    assert first.status_code == 200 and first.json()["holder"] == "agent:a1"
    assert [q["conversation_id"] for q in rig.get("/api/agent/mine", a1).json()] == [cid]
    moved = rig.post(assign, boss, json={"agent_id": "a2"})  # from one agent to another
    assert moved.status_code == 200 and moved.json()["before"] == "agent:a1"
    assert rig.post(assign, boss, json={"agent_id": "a2"}).status_code == 200  # already theirs: no change
    assert rig.post(f"/api/agent/conversations/{cid}/messages", a1, json={"text": "还是我"}).status_code == 403
    assert rig.post(f"/api/agent/conversations/{cid}/messages", a2, json={"text": "我接手了"}).status_code == 200
    texts = [m["text"] for m in rig.get(f"/api/conversations/{cid}/messages", rig.shopper("s2")).json()["messages"]]
    assert "人工客服 a1 已接入，为您服务。" in texts and "已为您转接人工客服 a2，由其继续为您服务。" in texts

    # a supervisor decides a refund of a conversation someone else holds
    approved = rig.post(f"/api/agent/refunds/{rid}/approve", boss, json={"reason": "核实无误"})
    assert approved.status_code == 200 and approved.json()["refund"]["state"] == "settled"
    assert rig.post(f"/api/agent/conversations/{cid}/release", a2).status_code == 200
    refused = rig.post(assign, boss, json={"agent_id": "a1"})  # back with the bot: nothing to assign
    assert refused.status_code == 409 and refused.json()["code"] == "not_assignable"
    assert rig.post("/api/agent/conversations/c_nope/assign", boss, json={"agent_id": "a1"}).status_code == 404
    assert rig.post(assign, boss, json={"agent_id": "bad id!"}).status_code == 422

    assert _audit(rig, cid, boss) == [
        ("assign", "supervisor", "boss", {"holder": "queue"}, {"holder": "agent:a1"}),
        ("assign", "supervisor", "boss", {"holder": "agent:a1"}, {"holder": "agent:a2"}),
        ("approve", "supervisor", "boss", {"state": "needs_review"}, {"state": "settled"}),
        ("release", "agent", "a2", {"holder": "agent:a2"}, {"holder": "bot"}),
    ]


def test_labelling_is_audited(trainer_rig: Rig) -> None:
    cid = trainer_rig.open("s1", "O1001")
    say(trainer_rig, cid, "收到的保温杯盖子裂开了咋办")
    item = inbox(trainer_rig)["items"][0]
    body = {"intent": "report_damaged", "entities": []}
    for _ in range(2):  # the repeated click changes nothing and is not logged again
        assert trainer_rig.post(f"/api/trainer/inbox/{item['id']}/label", trainer(), json=body).status_code == 200
    db = Database(trainer_rig.db_url)
    try:
        entries = db.run_sync(audit.for_item, item["id"])
    finally:
        db.dispose()
    assert [(e["action"], e["actor_role"], e["actor"], e["before"], e["after"]) for e in entries] == [
        ("label", "trainer", "t1", {"status": "open"}, {"status": "labelled", "intent": "report_damaged"})
    ]


def _forged(role: str, subject: str, *, iat: int, exp: int, jti: str | None = "x" * 32) -> str:
    claims = {"role": role, "sub": subject, "iat": iat, "exp": exp, **({"jti": jti} if jti else {})}
    return jwt.encode(claims, get_settings().derived_secret("tokens"), algorithm="HS256")


def test_staff_tokens_live_a_working_day_at_most(rig: Rig, clock: Clock) -> None:
    with pytest.raises(ValueError):
        mint("agent", "a1", ttl_seconds=STAFF_MAX_TTL + 1)
    for role in ("agent", "supervisor", "trainer"):
        claims = tokens.decode(mint(role, "x"))
        assert claims["exp"] - claims["iat"] == STAFF_MAX_TTL and claims["jti"]
    shopper = tokens.decode(mint("shopper", "s1"))
    assert shopper["exp"] - shopper["iat"] == 30 * 24 * 3600  # out of scope: unchanged

    now = int(clock())
    too_long = _forged("agent", "a1", iat=now, exp=now + STAFF_MAX_TTL + 60)
    assert rig.get("/api/agent/me", auth(too_long)).status_code == 401
    trainer_too_long = _forged("trainer", "t1", iat=now, exp=now + 24 * 3600)
    assert rig.get("/api/trainer/me", auth(trainer_too_long)).status_code == 401
    no_jti = _forged("agent", "a1", iat=now, exp=now + 3600, jti=None)
    assert rig.get("/api/agent/me", auth(no_jti)).status_code == 401
    assert rig.get("/api/agent/me", auth(_forged("agent", "a1", iat=now, exp=now + 3600))).status_code == 200

    demo = rig.client.post(rig.url + "/api/demo/token", json={"role": "agent", "subject": "a1"}).json()["token"]
    claims = tokens.decode(demo)
    assert claims["exp"] - claims["iat"] <= STAFF_MAX_TTL
    good = rig.agent("a1")
    assert rig.get("/api/agent/me", good).status_code == 200
    assert rig.get("/api/agent/me", auth(demo)).status_code == 200
    clock.advance(STAFF_MAX_TTL)  # the end of the working day
    assert rig.get("/api/agent/me", good).status_code == 401
    assert rig.get("/api/agent/me", auth(demo)).status_code == 401


def test_a_revoked_token_is_refused_from_its_next_request(rig: Rig, clock: Clock) -> None:
    first, second, third = mint("agent", "a1"), mint("agent", "a1"), mint("trainer", "t1")
    for token, path in ((first, "/api/agent/me"), (second, "/api/agent/me"), (third, "/api/trainer/me")):
        assert rig.get(path, auth(token)).status_code == 200
    cli(["revoke", first])  # the whole token
    assert rig.get("/api/agent/me", auth(first)).status_code == 401
    assert rig.get("/api/agent/me", auth(second)).status_code == 200  # the same agent's other token still works
    jti = str(tokens.decode(first)["jti"])
    assert 0 < rig.redis.ttl(f"gw:revoked:jti:{jti}") <= STAFF_MAX_TTL + 1  # kept only while the token could live
    cli(["revoke", str(tokens.decode(third)["jti"])])  # or just its jti
    assert rig.get("/api/trainer/me", auth(third)).status_code == 401
    with pytest.raises(SystemExit):
        cli(["revoke", mint("shopper", "s1")])  # shopper tokens are not on the deny-list


def test_revoking_a_subject_refuses_all_of_its_older_tokens(rig: Rig, clock: Clock) -> None:
    older = [mint("agent", "a1"), mint("supervisor", "a1")]
    clock.advance(30)
    old = mint("agent", "a1")
    someone_else = mint("agent", "a2")
    clock.advance(30)
    cli(["revoke", "--subject", "a1"])
    for token in [*older, old]:
        assert rig.get("/api/agent/me", auth(token)).status_code == 401
    assert rig.get("/api/agent/me", auth(someone_else)).status_code == 200
    assert rig.get("/api/agent/me", auth(mint("agent", "a1"))).status_code == 401  # minted in the same second
    clock.advance(1)
    fresh = mint("agent", "a1")
    assert rig.get("/api/agent/me", auth(fresh)).status_code == 200
    assert 0 < rig.redis.ttl("gw:revoked:sub:a1") <= STAFF_MAX_TTL + 1


def test_the_deny_list_fails_closed_when_redis_is_down(env: dict[str, str]) -> None:
    """A staff request is refused (503) when Redis cannot say whether its token was revoked; a shopper's is not
    looked up at all."""

    async def ask(token: str, *roles: str) -> object:
        dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
        gateway = SimpleNamespace(redis=dead, keys=Keys())
        request = SimpleNamespace(headers={"authorization": f"Bearer {token}"},
                                  app=SimpleNamespace(state=SimpleNamespace(gateway=gateway)))
        try:
            return await _staff(request, *roles)  # type: ignore[arg-type]
        finally:
            await dead.close()

    with pytest.raises(GatewayError) as refused:
        asyncio.run(ask(mint("agent", "a1"), "agent", "supervisor"))
    assert (refused.value.status, refused.value.code) == (503, "auth_unavailable")
    assert refused.value.message_zh == "登录校验暂时不可用，请稍后再试"
    assert asyncio.run(ask(mint("shopper", "s1"), "shopper", "agent")).subject == "s1"  # type: ignore[attr-defined]
