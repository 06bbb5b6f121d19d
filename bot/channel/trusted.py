"""TrustedInput: Rasa's input channel for the gateway, authenticated with the shared channel secret.

POST /webhooks/trusted/webhook with header X-Channel-Secret; see docs/architecture.md "Trusted channel".
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channel.inbound import ChannelError, Inbound, parse_inbound, payload_was_offered
from bot.settings import get_settings

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Channel-Secret"
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


def bot_replies(collector: CollectingOutputChannel) -> list[dict[str, Any]]:
    """The collected replies in the REST channel's shape, without the recipient id."""
    return [{k: m[k] for k in REPLY_KEYS if k in m} for m in collector.messages]


class TrustedInput(InputChannel):
    """Accepts text, button, photo and start events from the gateway and answers with the bot's replies."""

    def __init__(self, secret: str | None = None) -> None:
        self._secret = secret

    @classmethod
    def name(cls) -> str:
        return "trusted"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TrustedInput:
        return cls()  # the secret comes from the environment (settings), never from credentials.yml

    @property
    def secret(self) -> str:
        return self._secret if self._secret is not None else get_settings().channel_secret

    async def _check_button(self, request: Request, inbound: Inbound) -> None:
        agent = getattr(request.app.ctx, "agent", None)
        store = getattr(agent, "tracker_store", None)
        if store is None:
            raise ChannelError(503, "bot_not_ready", "the bot has not loaded yet")
        tracker = await store.retrieve_full_tracker(inbound.sender_id)
        if tracker is None or not payload_was_offered(tracker.events, inbound.text):
            raise ChannelError(422, "button_not_offered", "no button with this payload was offered")

    async def _handle(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        if not secret_matches(request.headers.get(SECRET_HEADER), self.secret):
            raise ChannelError(401, "bad_channel_secret", "missing or wrong X-Channel-Secret")
        inbound = parse_inbound(decode_body(request.body))
        if inbound.event == "button":
            await self._check_button(request, inbound)
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
        return response.json({"messages": bot_replies(collector)})

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("trusted_webhook", __name__)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                return await self._handle(request, on_new_message)
            except ChannelError as exc:
                return response.json(exc.as_json(), status=exc.status)

        return webhook
