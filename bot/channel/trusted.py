"""TrustedInput: Rasa's input channel for the gateway, authenticated with the shared channel secret.

POST /webhooks/trusted/webhook with header X-Channel-Secret; see docs/architecture.md "Trusted channel".
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channel import action_validation
from bot.channel.inbound import ChannelError, Inbound, offered_button, parse_inbound
from bot.rasa_protocol import CHANNEL_NAME, CHANNEL_PREFIX, MODEL_PATH, SECRET_HEADER, WEBHOOK_PATH
from bot.settings import get_settings

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
REPLY_KEYS = ("text", "buttons", "image", "custom", "attachment")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ChannelError(422, "bad_body", "duplicate keys in the JSON body")
    return dict(pairs)


def decode_body(raw: bytes) -> Any:
    if len(raw) > MAX_BODY_BYTES:
        raise ChannelError(413, "body_too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ChannelError(422, "bad_json", "the body is not valid UTF-8 JSON") from exc


def secret_matches(presented: str | None, expected: str) -> bool:
    """Constant-time comparison; an unset secret never matches."""
    if not expected or not presented:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


def nlu_summary(parse_data: dict[str, Any]) -> dict[str, Any]:
    """What the model made of a text: top intent, the five best, entities, the faq answer key."""
    intent = parse_data.get("intent") or {}
    ranking = [
        {"name": str(r.get("name")), "confidence": round(float(r.get("confidence") or 0.0), 4)}
        for r in (parse_data.get("intent_ranking") or [])[:5]
    ]
    entities = [
        {k: e.get(k) for k in ("entity", "value", "start", "end")} for e in parse_data.get("entities") or []
    ]
    summary: dict[str, Any] = {
        "intent": intent.get("name"),
        "confidence": round(float(intent.get("confidence") or 0.0), 4),
        "ranking": ranking,
        "entities": entities,
    }
    selected = ((parse_data.get("response_selector") or {}).get("faq") or {}).get("response") or {}
    if selected.get("intent_response_key"):
        summary["retrieval"] = {
            "intent": selected["intent_response_key"],
            "confidence": round(float(selected.get("confidence") or 0.0), 4),
        }
    return summary


def bot_replies(collector: CollectingOutputChannel) -> list[dict[str, Any]]:
    """The collected replies in the REST channel's shape, without the recipient id."""
    return [{k: m[k] for k in REPLY_KEYS if k in m} for m in collector.messages]


class TrustedInput(InputChannel):
    """Accepts text, button, photo, start and human events from the gateway and answers with the bot's replies."""

    def __init__(self, secret: str | None = None) -> None:
        self._secret = secret
        action_validation.install()  # the Rasa serving this channel validates action replies without waste
        self._loading = asyncio.Lock()

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TrustedInput:
        return cls()  # the secret comes from the environment (settings), never from credentials.yml

    @property
    def secret(self) -> str:
        return self._secret if self._secret is not None else get_settings().channel_secret

    async def _offered_button(self, request: Request, inbound: Inbound) -> dict[str, str]:
        agent = getattr(request.app.ctx, "agent", None)
        store = getattr(agent, "tracker_store", None)
        if store is None:
            raise ChannelError(503, "bot_not_ready", "the bot has not loaded yet")
        tracker = await store.retrieve_full_tracker(inbound.sender_id)
        button = offered_button(tracker.events, inbound.text) if tracker is not None else None
        if button is None:
            raise ChannelError(422, "button_not_offered", "no button with this payload was offered")
        return button

    async def _understanding(self, request: Request, inbound: Inbound) -> dict[str, Any] | None:
        """The parse of the text just handled, read back from the tracker (None if unavailable)."""
        store = getattr(getattr(request.app.ctx, "agent", None), "tracker_store", None)
        if store is None:
            return None
        try:
            tracker = await store.retrieve(inbound.sender_id)
        except Exception:  # the reply matters more than the trainer's inbox
            log.warning("trusted channel: could not read the parse back for %s", inbound.sender_id, exc_info=True)
            return None
        latest = tracker.latest_message if tracker else None
        if latest is None or latest.text != inbound.text:
            return None  # another message of this sender was handled in between
        return nlu_summary(latest.parse_data)

    async def _handle(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        if not secret_matches(request.headers.get(SECRET_HEADER), self.secret):
            raise ChannelError(401, "bad_channel_secret", "missing or wrong X-Channel-Secret")
        inbound = parse_inbound(decode_body(request.body))
        button = await self._offered_button(request, inbound) if inbound.event == "button" else None
        collector = CollectingOutputChannel()
        message = UserMessage(
            inbound.text, collector, inbound.sender_id, input_channel=self.name(), metadata=inbound.metadata
        )
        try:
            await on_new_message(message)
        except asyncio.CancelledError:
            log.error("trusted channel: handling timed out for %s", inbound.sender_id)
            raise ChannelError(503, "bot_timeout", "the bot did not answer in time") from None
        except Exception as exc:
            log.exception("trusted channel: handling failed for %s", inbound.sender_id)
            raise ChannelError(500, "bot_error", "the bot failed to handle the message") from exc
        body: dict[str, Any] = {"messages": bot_replies(collector)}
        if button is not None:
            body["button"] = button  # the title the shopper saw, for the transcript
        if inbound.event == "text":
            body["nlu"] = await self._understanding(request, inbound)
        return response.json(body)

    async def _load_model(self, request: Request) -> HTTPResponse:
        """Hot reload without a pause: build the new agent in a worker thread, then swap it in.

        Rasa's own PUT /model loads on the event loop, so every conversation waits 30-40 s. Here the old
        agent keeps answering while the new one loads; messages already being handled finish on the old
        one. The new agent shares the tracker store (Redis) and lock store, so conversations carry on.
        """
        if not secret_matches(request.headers.get(SECRET_HEADER), self.secret):
            raise ChannelError(401, "bad_channel_secret", "missing or wrong X-Channel-Secret")
        body = decode_body(request.body)
        model = Path(str(body.get("model_file") or "")) if isinstance(body, dict) else Path()
        if not model.is_absolute() or not model.name.endswith(".tar.gz") or not model.is_file():
            raise ChannelError(422, "bad_model_file", "model_file must be the absolute path of a .tar.gz model")
        current = getattr(request.app.ctx, "agent", None)
        if current is None:
            raise ChannelError(503, "bot_not_ready", "the bot has not loaded yet")
        # The new agent sets its (new) domain on its tracker store while loading: give it its own store
        # object over the same Redis, so the old agent keeps reading trackers with the old domain meanwhile.
        store = copy.copy(getattr(current.tracker_store, "_tracker_store", current.tracker_store))
        async with self._loading:
            started = time.monotonic()
            loop = asyncio.get_running_loop()
            try:
                new = await loop.run_in_executor(None, lambda: Agent.load(
                    model, tracker_store=store, lock_store=current.lock_store,
                    action_endpoint=current.action_endpoint, model_server=current.model_server,
                    remote_storage=current.remote_storage, http_interpreter=current.http_interpreter))
            except Exception as exc:
                log.exception("trusted channel: could not load %s", model)
                raise ChannelError(500, "model_load_failed", f"could not load {model.name}: {exc}") from exc
            request.app.ctx.agent = new
        seconds = round(time.monotonic() - started, 1)
        log.info("trusted channel: model %s is live (loaded in %ss beside the old one)", new.model_name, seconds)
        return response.json({"model_file": new.model_name, "load_s": seconds})

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("trusted_webhook", __name__)

        @webhook.route(WEBHOOK_PATH.removeprefix(CHANNEL_PREFIX), methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                return await self._handle(request, on_new_message)
            except ChannelError as exc:
                return response.json(exc.as_json(), status=exc.status)

        @webhook.route(MODEL_PATH.removeprefix(CHANNEL_PREFIX), methods=["POST"])
        async def load_model(request: Request) -> HTTPResponse:
            try:
                return await self._load_model(request)
            except ChannelError as exc:
                return response.json(exc.as_json(), status=exc.status)

        return webhook
