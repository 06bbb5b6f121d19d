"""The trusted channel over HTTP: a real Rasa Sanic app (configure_app) served on a free port.

The agent is a real rasa Agent with an in-memory tracker store but no trained model; a thin wrapper
around its handle_message records each UserMessage and can speak for the bot. The full path with a
trained model is the end-to-end test's job.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from rasa.core import run
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

from bot.channel.trusted import SECRET_HEADER, TrustedInput, nlu_summary
from bot.rasa_protocol import MODEL_PATH, WEBHOOK_PATH
from bot.settings import ROOT, get_settings

SECRET = "test-channel-secret"
URL = WEBHOOK_PATH
PHOTO_ID = "0123456789abcdef0123456789abcdef"


@dataclass
class Rasa:
    client: httpx.AsyncClient
    agent: Agent
    received: list[UserMessage] = field(default_factory=list)
    reply: Callable[[UserMessage], Any] | None = None

    async def post(self, body: Any, secret: str | bytes | None = SECRET, **kw: Any) -> httpx.Response:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        if isinstance(body, bytes | str):
            return await self.client.post(URL, content=body, headers=headers, **kw)
        return await self.client.post(URL, json=body, headers=headers, **kw)

    async def offer(self, sender_id: str, *payloads: str) -> None:
        buttons = [{"title": p, "payload": p} for p in payloads]
        tracker = DialogueStateTracker.from_events(
            sender_id,
            [
                ActionExecuted("action_listen"),
                UserUttered("你好"),
                BotUttered("请选择", data={"buttons": buttons}),
            ],
        )
        await self.agent.tracker_store.save(tracker)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _serve(channels: list) -> AsyncIterator[Rasa]:
    test_mode, Sanic.test_mode = Sanic.test_mode, True  # several apps named "rasa_server" in one process
    port = _free_port()
    app = run.configure_app(channels, enable_api=True, auth_token="api-token", port=port, use_uvloop=False)
    domain = Domain.empty()
    agent = Agent(domain=domain, tracker_store=InMemoryTrackerStore(domain))
    app.ctx.agent = agent
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            rasa = Rasa(client=client, agent=agent)
            original = agent.handle_message

            async def handle_message(message: UserMessage) -> Any:
                rasa.received.append(message)
                if rasa.reply is not None:
                    await rasa.reply(message)
                return await original(message)  # no model: Rasa logs and ignores it

            agent.handle_message = handle_message  # type: ignore[method-assign]
            yield rasa
    finally:
        await server.before_stop()
        await server.close()
        await server.after_stop()
        Sanic.test_mode = test_mode


@pytest.fixture
async def rasa() -> AsyncIterator[Rasa]:
    async for r in _serve([TrustedInput(secret=SECRET)]):
        yield r


def _body(**fields: Any) -> dict[str, Any]:
    return {"shopper_id": "s1", "conversation_id": "c_ab12", **fields}


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET.upper(), "秘密".encode()])
async def test_wrong_or_missing_secret_is_401(rasa, secret):
    resp = await rasa.post(_body(event="text", text="你好"), secret=secret)
    assert resp.status_code == 401
    assert resp.json()["code"] == "bad_channel_secret"
    assert rasa.received == []


async def test_an_unset_secret_accepts_nobody():
    async for r in _serve([TrustedInput(secret="")]):
        assert (await r.post(_body(event="start"), secret="")).status_code == 401
        assert r.received == []


async def test_typed_text_reaches_rasa_sanitised_with_metadata(rasa):
    resp = await rasa.post(_body(event="text", text="\u3000\u200b／/restart"))
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"messages": [], "nlu": None}  # no model loaded here: nothing understood
    [message] = rasa.received
    assert message.text == "restart"
    assert message.sender_id == "s1:c_ab12"
    assert message.input_channel == "trusted"
    assert message.metadata == {"shopper_id": "s1", "conversation_id": "c_ab12", "event": "text"}


async def test_replies_come_back_in_the_rest_channel_shape(rasa):
    async def speak(message: UserMessage) -> None:
        out = message.output_channel
        await out.send_response(
            message.sender_id,
            {"text": "请选择退款方式", "buttons": [{"title": "退款 ¥3.50", "payload": "/choose_refund"}]},
        )
        await out.send_response(message.sender_id, {"image": "https://example.invalid/a.png"})
        await out.send_response(message.sender_id, {"custom": {"kind": "handoff"}})

    rasa.reply = speak
    resp = await rasa.post(_body(event="start", order_id="O1001"))
    assert resp.status_code == 200
    assert resp.json() == {
        "messages": [
            {"text": "请选择退款方式", "buttons": [{"title": "退款 ¥3.50", "payload": "/choose_refund"}]},
            {"image": "https://example.invalid/a.png"},
            {"custom": {"kind": "handoff"}},
        ]
    }
    assert rasa.received[0].text == '/greet{"order_id": "O1001"}'


async def test_button_not_offered_is_422(rasa):
    resp = await rasa.post(_body(event="button", payload="/choose_refund"))
    assert resp.status_code == 422
    assert resp.json()["code"] == "button_not_offered"
    assert rasa.received == []


async def test_offered_button_is_passed_as_text(rasa):
    await rasa.offer("s1:c_ab12", "/choose_refund", "/choose_coupon")
    resp = await rasa.post(_body(event="button", payload="/choose_coupon"))
    assert resp.status_code == 200, resp.text
    assert resp.json()["button"] == {"title": "/choose_coupon", "payload": "/choose_coupon"}  # for the transcript
    assert [m.text for m in rasa.received] == ["/choose_coupon"]
    assert rasa.received[0].metadata["event"] == "button"
    resp = await rasa.post(_body(event="button", payload="/restart"))
    assert (resp.status_code, resp.json()["code"]) == (422, "button_not_offered")


async def test_a_button_offered_in_another_conversation_is_refused(rasa):
    await rasa.offer("s2:c_other", "/choose_refund")
    await rasa.offer("s1:c_other", "/choose_refund")
    resp = await rasa.post(_body(event="button", payload="/choose_refund"))
    assert (resp.status_code, resp.json()["code"]) == (422, "button_not_offered")
    assert rasa.received == []


async def test_photo_becomes_upload_photo_intent(rasa):
    resp = await rasa.post(_body(event="photo", photo_id=PHOTO_ID, photo_kind="package"))
    assert resp.status_code == 200
    assert rasa.received[0].text == f'/upload_photo{{"photo_package": "{PHOTO_ID}"}}'


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 422, "bad_json"),
        (
            b'{"shopper_id": "s1", "shopper_id": "s2", "conversation_id": "c", "event": "start"}',
            422,
            "bad_body",
        ),
        (b"\xff\xfe", 422, "bad_json"),
        (b"[]", 422, "bad_body"),
        (_body(event="text", text="/"), 422, "empty_text"),
        (_body(event="text", text="好" * 1001), 422, "text_too_long"),
        (_body(event="text", text="hi", metadata={"shopper_id": "s9"}), 422, "unexpected_field"),
        ({**_body(event="start"), "shopper_id": "s1:c_x"}, 422, "bad_shopper_id"),
        (_body(event="photo", photo_id=PHOTO_ID, photo_kind="selfie"), 422, "bad_photo_kind"),
        (_body(event="start", order_id='O1"}'), 422, "bad_order_id"),
        (b'{"text": "' + b"a" * 20000 + b'"}', 413, "body_too_large"),
    ],
)
async def test_invalid_requests(rasa, body, status, code):
    resp = await rasa.post(body)
    assert resp.status_code == status, resp.text
    assert resp.json()["code"] == code
    assert resp.json()["message"]
    assert rasa.received == []


async def test_bot_failure_is_500_not_an_empty_answer(rasa):
    async def crash(message: UserMessage) -> None:
        raise RuntimeError("action server down")

    rasa.reply = crash
    resp = await rasa.post(_body(event="text", text="你好"))
    assert (resp.status_code, resp.json()["code"]) == (500, "bot_error")


@pytest.fixture
def settings_secret(monkeypatch: pytest.MonkeyPatch, tmp_path) -> str:
    monkeypatch.setenv("BOT_SECRET", "root-secret-for-test")
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield get_settings().channel_secret
    get_settings.cache_clear()


async def test_credentials_yml_opens_only_the_trusted_channel(settings_secret):
    channels = run.create_http_input_channels(None, str(ROOT / "credentials.yml"))
    assert [c.name() for c in channels] == ["trusted"]
    async for r in _serve(channels):
        assert (await r.post(_body(event="start"), secret=settings_secret)).status_code == 200
        assert (await r.post(_body(event="start"), secret=SECRET)).status_code == 401
        rest = await r.client.post("/webhooks/rest/webhook", json={"sender": "s1:c", "message": "/restart"})
        assert rest.status_code == 404
        assert [m.text for m in r.received] == ["/greet"]


def test_the_parse_summary_keeps_what_trainers_need() -> None:
    parse = {
        "intent": {"name": "nlu_fallback", "confidence": 0.45},
        "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.45}]
        + [{"name": f"intent_{i}", "confidence": 0.3 - i / 100} for i in range(8)],
        "entities": [{"entity": "quantity", "value": 1, "start": 1, "end": 3, "extractor": "RuleEntityExtractor",
                      "processors": []}],
        "response_selector": {"faq": {"response": {"intent_response_key": "faq/refund_time", "confidence": 0.912345}}},
    }
    summary = nlu_summary(parse)
    assert summary["intent"] == "nlu_fallback" and summary["confidence"] == 0.45
    assert [r["name"] for r in summary["ranking"]] == ["nlu_fallback", "intent_0", "intent_1", "intent_2", "intent_3"]
    assert summary["entities"] == [{"entity": "quantity", "value": 1, "start": 1, "end": 3}]
    assert summary["retrieval"] == {"intent": "faq/refund_time", "confidence": 0.9123}


async def test_model_loading_needs_the_secret_and_an_existing_model_file(rasa, tmp_path) -> None:
    url = MODEL_PATH
    model = tmp_path / "m.tar.gz"
    wrong = await rasa.client.post(url, json={"model_file": str(model)}, headers={SECRET_HEADER: "nope"})
    assert wrong.status_code == 401
    for bad in ("models/m.tar.gz", str(model), str(tmp_path)):  # relative, missing, not a model
        resp = await rasa.client.post(url, json={"model_file": bad}, headers={SECRET_HEADER: SECRET})
        assert resp.status_code == 422 and resp.json()["code"] == "bad_model_file", bad
    model.write_bytes(b"not a model archive")
    broken = await rasa.client.post(url, json={"model_file": str(model)}, headers={SECRET_HEADER: SECRET})
    assert broken.status_code == 500 and broken.json()["code"] == "model_load_failed"
    assert (await rasa.post(_body(event="text", text="还在吗"))).status_code == 200  # the live agent still serves
