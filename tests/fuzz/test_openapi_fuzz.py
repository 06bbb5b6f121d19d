"""Fuzzing every operation of the gateway's and the refund service's OpenAPI schema against the real apps.

For each operation (`app.openapi()`), Hypothesis builds requests from the schema with hypothesis-jsonschema: path
and query parameters, headers and JSON bodies, valid ones and slightly invalid ones (a field swapped for a huge
integer, NaN, text with control characters, NUL or lone surrogates, a wrong type, broken JSON), with real ids of
the seeded data mixed in so that requests also get past the lookups, and a valid token for the operation's role
(sometimes none, a forged one, or another role's). Checked on every answer:
- never a 5xx;
- every gateway 4xx carries the gateway's error body with a Chinese `message_zh`, every refund-service 4xx its
  {"detail": {"code", "message"}}.

Left out, and why:
- POST /api/trainer/retrain trains a model (minutes of CPU; never in a test run) and POST /api/trainer/rollback
  swaps the live model files under models/: both act on the process's real model store, not on a test copy.
- The live streams (…/stream) are opened and closed at once: they never end by themselves, so only their
  refusals and first frame are checked.
Rasa is RasaDouble (tests/gateway/rasa_double.py), as in the gateway's own tests; each example draws whether it is
down (answering 503), so the gateway's answers without the bot are fuzzed too. Labelling writes into a copy of the
project's data (the `project` fixture), never into the repository.

The runs are derandomised (the same requests on every machine): EXAMPLES per operation, so that each API gets over
1,000 generated requests on each database (the issue's bar for a schema fuzzer).
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import redis
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from PIL import Image

from bot.gateway.app import create_app as gateway_app
from bot.gateway.config import GatewayConfig
from bot.refunds.app import create_app as refunds_app
from bot.tokens import mint
from tests.gateway.conftest import Rig, start_rig
from tests.refunds.conftest import Server

EXAMPLES = {"gateway": 28, "refunds": 70}
MIN_REQUESTS = 1000
FUZZ_SETTINGS = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
EXCLUDED = {
    ("POST", "/api/trainer/retrain"): "starts training a model",
    ("POST", "/api/trainer/rollback"): "swaps the live model files under models/",
}
CJK = re.compile(r"[\u4e00-\u9fff]")
STATUSES: Counter[tuple[str, int]] = Counter()  # what the answers were, printed after each run (pytest -s)

# ---------------------------------------------------------------- values


HUGE_INTS = st.sampled_from([2**31, 2**63, -(2**63) - 1, 2**64, 2**70, -(2**70), 10**30])
NASTY_TEXT = st.one_of(
    st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Lo", "Nd"]), max_size=12),
    st.sampled_from(["\x00", "a\x00b", "\r\n", "\u202e", "\ufeff", "../../etc/passwd", "%00", "' OR 1=1 --",
                     "<script>alert(1)</script>", "/restart", "１２３", "٣", "x" * 5000, ""]),
)
SURROGATES = st.sampled_from(["\ud800", "a\udfffb"])  # only in JSON: a URL or a header cannot carry one
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), HUGE_INTS, st.floats(), NASTY_TEXT, SURROGATES)
ANY_JSON = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=8), inner, max_size=3), max_leaves=6)
# values in a URL: these are inserted as they are (already percent-encoded), everything else is quoted
RAW_URL_VALUES = st.sampled_from(["%00", "%FF", "%ED%A0%80", "%2F", "..", "%20", "-1", "1e400", "NaN", "inf"])


@st.composite
def param_value(draw: st.DrawFn, schema: dict[str, Any], known: list[Any]) -> Any:
    """A parameter's value: mostly a real id (so requests get past the lookups), else valid from its schema or
    hostile."""
    if known and draw(st.integers(0, 9)) < 6:
        return draw(st.sampled_from(known))
    return draw(st.one_of(from_schema(schema), HUGE_INTS, NASTY_TEXT, RAW_URL_VALUES))


def in_url(value: Any) -> str:
    if isinstance(value, str) and value and re.fullmatch(r"(%[0-9A-F]{2}|[-.A-Za-z0-9_])*", value):
        return value  # RAW_URL_VALUES and plain ids
    if isinstance(value, bool):
        return str(value).lower()
    return quote(str(value), safe="")


def resolved(schema: Any, components: dict[str, Any]) -> Any:
    """The schema with every #/components/schemas/ reference replaced by what it names (ours are not recursive)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return resolved(components[schema["$ref"].rsplit("/", 1)[1]], components)
        return {k: resolved(v, components) for k, v in schema.items()}
    if isinstance(schema, list):
        return [resolved(v, components) for v in schema]
    return schema


@st.composite
def json_body(draw: st.DrawFn, schema: dict[str, Any], known: dict[str, list[Any]]) -> Any:
    """A body from the schema, with real ids put in for some fields, and sometimes one field made hostile,
    a body of the wrong shape, or broken JSON (returned as bytes)."""
    kind = draw(st.sampled_from(["real", "real", "valid", "valid", "one_bad_field", "any_json", "broken"]))
    if kind == "broken":
        return draw(st.sampled_from([b"", b"{", b'{"text": "a', b"\xff\xfe\x00", b"null", b"[]", b"1e999"]))
    if kind == "any_json":
        return draw(ANY_JSON)
    body = draw(from_schema(schema))
    if isinstance(body, dict):
        for name in sorted(body):  # "real": the first known value of each (they belong together), else any
            if name in known and (kind == "real" or draw(st.booleans())):
                body[name] = known[name][0] if kind == "real" else draw(st.sampled_from(known[name]))
        if kind == "one_bad_field":
            names = sorted(schema.get("properties", {})) or ["x"]
            body[draw(st.sampled_from(names))] = draw(JSON_SCALARS | st.lists(JSON_SCALARS, max_size=2))
    return body


# ---------------------------------------------------------------- operations


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    params: tuple[dict[str, Any], ...]
    body: dict[str, Any] | None  # the JSON schema of a JSON body, resolved
    multipart: bool

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def operations(openapi: dict[str, Any]) -> list[Operation]:
    components = openapi.get("components", {}).get("schemas", {})
    found = []
    for path, methods in openapi["paths"].items():
        for method, op in methods.items():
            if (method.upper(), path) in EXCLUDED:
                continue
            content = op.get("requestBody", {}).get("content", {})
            body = content.get("application/json", {}).get("schema")
            body = None if body is None else resolved(body, components)
            found.append(Operation(method.upper(), path, tuple(resolved(op.get("parameters", []), components)),
                                   body, "multipart/form-data" in content))
    return found


@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, str]
    body: Any = None  # JSON value, or bytes sent as they are with a JSON content type
    files: dict[str, Any] | None = None
    form: dict[str, str] | None = None

    def send(self, client: httpx.Client) -> tuple[int, dict[str, str], bytes]:
        kw: dict[str, Any] = {"headers": dict(self.headers)}
        if self.files is not None or self.form is not None:
            kw.update(files=self.files, data=self.form)
        elif isinstance(self.body, bytes):
            kw.update(content=self.body)
            kw["headers"]["Content-Type"] = "application/json"
        elif self.body is not None or self.method in ("POST", "PUT", "PATCH"):
            kw.update(content=json.dumps(self.body, ensure_ascii=False).encode("utf-8", "surrogatepass"))
            kw["headers"]["Content-Type"] = "application/json"
        if self.url.rsplit("?", 1)[0].endswith("/stream"):
            with client.stream(self.method, self.url, **kw) as resp:
                if resp.status_code != 200:
                    return resp.status_code, dict(resp.headers), resp.read()
                first = next(resp.iter_raw(), b"")  # the stream is live: its first frame, then hang up
                return resp.status_code, dict(resp.headers), first
        resp = client.request(self.method, self.url, **kw)
        return resp.status_code, dict(resp.headers), resp.content


@st.composite
def requests(draw: st.DrawFn, op: Operation, known: dict[str, list[Any]], auth: Callable[[Operation], dict]) -> Request:
    path, query, headers = op.path, [], {}
    for param in op.params:
        if param["in"] == "header" and param["name"].lower() == "authorization":
            continue  # the token comes from `auth`
        value = draw(param_value(param.get("schema", {}), known.get(param["name"], [])))
        if param["in"] == "path":
            path = path.replace("{" + param["name"] + "}", in_url(value))
        elif param["in"] == "query":
            if not param.get("required") and draw(st.booleans()):
                continue
            query.append(f"{quote(param['name'])}={in_url(value)}")
        elif param["in"] == "header":
            text = str(value)
            if all(32 <= ord(c) < 127 for c in text) and draw(st.booleans()) or not text:
                headers[param["name"]] = text
            else:
                headers[param["name"]] = draw(st.sampled_from(known.get(param["name"], ["k1"])))
    headers.update(draw(st.sampled_from([auth(op)] * 16 + [{}, {"Authorization": "Bearer forged.token"},
                                                         {"Authorization": "Bearer " + mint("shopper", "s2")},
                                                         {"Authorization": "Bearer " + mint("agent", "a2")}])))
    if draw(st.integers(0, 9)) == 0:
        headers["Last-Event-ID"] = draw(st.sampled_from(["99999999999999999999999", "-1", "abc", "3"]))
    request = Request(op.method, path + ("?" + "&".join(query) if query else ""), headers)
    if op.body is not None and (op.method != "POST" or draw(st.integers(0, 19)) > 0):
        request.body = draw(json_body(op.body, known))
    if op.multipart:
        files = st.sampled_from([tiny_jpeg(), b"", b"GIF89a", b"<svg/>", tiny_jpeg()[:40]]) | st.binary(max_size=64)
        data = draw(files)
        request.files = {"file": ("photo.jpg", data, "image/jpeg")} if draw(st.integers(0, 5)) else None
        request.form = {"kind": draw(st.sampled_from(["package", "label", "items"]) | NASTY_TEXT.filter(no_nul))}
    return request


def no_nul(text: str) -> bool:
    return "\x00" not in text  # a multipart form field cannot be encoded with one by the client


def tiny_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def fuzz(client: httpx.Client, ops: list[Operation], known: dict[str, list[Any]], auth: Callable[[Operation], dict],
         check: Callable[[Operation, int, dict[str, str], bytes], None], examples: int,
         before_each: Callable[[bool], None] = lambda _down: None) -> None:
    def fuzzer(op: Operation) -> Callable[[], None]:
        @settings(FUZZ_SETTINGS, max_examples=examples)
        @given(request=requests(op, known, auth), rasa_down=st.integers(0, 4).map(lambda n: n == 0))
        def run(request: Request, rasa_down: bool) -> None:
            before_each(rasa_down)
            note(f"{op}: {request.method} {request.url} headers={request.headers} body={request.body!r:.500} "
                 f"form={request.form} rasa_down={rasa_down}")
            status, headers, content = request.send(client)
            STATUSES[(str(op), status)] += 1
            check(op, status, headers, content)

        return run  # type: ignore[no-any-return]

    STATUSES.clear()
    for op in ops:
        fuzzer(op)()
    print(f"\n{sum(STATUSES.values())} requests")
    for op in ops:
        print(f"  {op}: " + ", ".join(f"{status} x{n}" for (o, status), n in sorted(STATUSES.items()) if o == str(op)))
    assert sum(STATUSES.values()) >= MIN_REQUESTS, "fewer generated requests than an API should get"


# ---------------------------------------------------------------- the refund service


def refunds_check(op: Operation, status: int, headers: dict[str, str], content: bytes) -> None:
    assert status < 500, (str(op), status, content[:500])
    if 400 <= status < 500:
        detail = json.loads(content)["detail"]
        assert isinstance(detail["code"], str) and detail["code"] and detail["message"], (str(op), content[:500])


def test_the_refund_service_never_fails_on_any_request(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        refund = client.post("/refunds", headers={**server.headers, "Idempotency-Key": "fuzz-seed"}, json={
            "shopper_id": "s1", "order_id": "O1002", "line_id": "O1002-1", "quantity": 1, "case_type": "damaged",
            "conversation_id": "c1"})
        assert refund.status_code == 201, refund.text
        known = {
            "shopper_id": ["s1", "s2", "s3", "S1"], "order_id": ["O1001", "o1001", "O2001", "O9999"],
            "line_id": ["O1001-1", "O1001-2", "O1002-2", "O2001-1"], "refund_id": [refund.json()["refund_id"]],
            "notification_id": [1, 2, 3], "conversation_id": ["c1"], "decided_by": ["a1"], "quantity": [1, 2, 12],
            "case_type": ["damaged", "not_delivered"], "Idempotency-Key": ["k1", "k2", "fuzz-seed"], "photo_ids": [[]],
        }
        ops = operations(refunds_app("sqlite://").openapi())
        assert len(ops) >= 14
        fuzz(client, ops, known, lambda _op: server.headers, refunds_check, EXAMPLES["refunds"])


# ---------------------------------------------------------------- the gateway


@pytest.fixture
def fuzz_rig(env: dict[str, str], redis_client: redis.Redis, refunds_url: str, db_url: str,
             project: Path) -> Iterator[Rig]:
    config = GatewayConfig(rate_count=100_000, stream_ping_seconds=0.5, demo=True, project_root=project)
    yield from start_rig(env, redis_client, refunds_url, db_url, config)


def gateway_check(op: Operation, status: int, headers: dict[str, str], content: bytes) -> None:
    assert status < 500, (str(op), status, content[:500])
    if 400 <= status < 500:
        body = json.loads(content)
        assert {"code", "message_zh", "message_en", "detail"} <= set(body), (str(op), status, body)
        assert CJK.search(body["message_zh"]), (str(op), status, body)


def gateway_role(op: Operation) -> str | None:
    if op.path.endswith("/assign"):
        return "supervisor"
    for prefix, role in (("/api/agent/", "agent"), ("/api/trainer/", "trainer"), ("/api/demo/", None)):
        if op.path.startswith(prefix):
            return role
    return "shopper"


def test_the_gateway_never_fails_and_always_answers_in_chinese(fuzz_rig: Rig) -> None:
    rig = fuzz_rig
    s1, a1 = rig.shopper("s1"), rig.agent("a1")
    chat = rig.open("s1", "O1001")
    photo = rig.post(f"/api/conversations/{chat}/photos", s1, files={"file": ("p.jpg", tiny_jpeg(), "image/jpeg")},
                     data={"kind": "package"})
    assert photo.status_code == 201, photo.text
    assert rig.post(f"/api/conversations/{chat}/messages", s1, json={"text": "有一支笔坏了"}).status_code == 200
    queued = rig.open("s1")
    assert rig.post(f"/api/conversations/{queued}/handoff", s1).status_code == 200
    held = rig.open("s1")
    assert rig.post(f"/api/conversations/{held}/handoff", s1).status_code == 200
    assert rig.post(f"/api/agent/conversations/{held}/claim", a1).status_code == 200
    said = rig.get(f"/api/conversations/{chat}/messages", s1).json()["messages"]
    typed = next(m["seq"] for m in said if m["sender"] == "shopper" and m["text"] == "有一支笔坏了")
    assert rig.post(f"/api/agent/conversations/{chat}/messages/{typed}/misunderstood", a1).status_code == 200
    service = {"Authorization": "Bearer " + mint("service", "fuzz")}
    refund = httpx.post(rig.refunds_url + "/refunds", headers={**service, "Idempotency-Key": uuid.uuid4().hex}, json={
        "shopper_id": "s1", "order_id": "O1002", "line_id": "O1002-1", "quantity": 1, "case_type": "damaged",
        "conversation_id": held})
    assert refund.status_code == 201, refund.text
    known = {
        "cid": [chat, queued, held, "c_nope"], "order_id": ["O1001", "o1001", "O2001", "O9999"],
        "rid": [refund.json()["refund_id"], "rf_nope"], "photo_id": [photo.json()["photo_id"], "0" * 32],
        "seq": [1, 2, 3], "item_id": [1, 2], "agent_id": ["a1", "a2"], "subject": ["s1", "a1"],
        "text": ["有一支笔坏了", "转人工", "我要投诉"], "button": ["/report_damaged", "/choose_refund"],
        "intent": ["greet", "faq/refund_time", "nope"], "run_id": ["nope"],
    }
    tokens = {role: rig.shopper("s1") if role == "shopper" else auth_for(role) for role in
              ("shopper", "agent", "supervisor", "trainer")}

    def auth(op: Operation) -> dict[str, str]:
        role = gateway_role(op)
        return tokens[role] if role else {}

    def before_each(rasa_down: bool) -> None:
        rig.rasa.down = rasa_down

    ops = operations(gateway_app(rig.settings, GatewayConfig(demo=True)).openapi())
    assert len(ops) >= 35
    with httpx.Client(base_url=rig.url, timeout=60) as client:
        fuzz(client, ops, known, auth, gateway_check, EXAMPLES["gateway"], before_each)
        # and what is not in the schema: unknown paths and methods
        for method, path in (("GET", "/api/nope"), ("DELETE", f"/api/conversations/{chat}/messages"), ("PUT", "/")):
            resp = client.request(method, path, headers=s1)
            gateway_check(Operation(method, path, (), None, False), resp.status_code, dict(resp.headers), resp.content)


def auth_for(role: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint(role, {"agent": "a1", "supervisor": "boss", "trainer": "t1"}[role])}
