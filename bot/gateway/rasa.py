"""Client of the trusted Rasa channel: the only way shopper input reaches the bot."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from bot.gateway.errors import GatewayError

log = logging.getLogger(__name__)


class BotUnavailable(Exception):
    """Rasa did not answer (down, timeout, 5xx)."""


@dataclass(frozen=True)
class BotReply:
    text: str
    buttons: list[dict[str, str]]
    image: str | None = None


@dataclass(frozen=True)
class BotAnswer:
    """The bot's replies to one event and, for text, what the model understood (see nlu_summary)."""

    replies: list[BotReply]
    nlu: dict[str, Any] | None = None


def _reply(raw: dict[str, Any]) -> BotReply:
    buttons = [
        {"title": str(b.get("title") or b.get("payload") or ""), "payload": str(b.get("payload") or "")}
        for b in raw.get("buttons") or []
        if isinstance(b, dict) and b.get("payload")
    ]
    custom = raw.get("custom")
    text = raw.get("text") or ""
    if not text and isinstance(custom, dict):
        text = str(custom.get("text") or "")
    return BotReply(text=str(text), buttons=buttons, image=raw.get("image"))


class TrustedChannel:
    """Posts events to {rasa_url}/webhooks/trusted/webhook with the shared channel secret."""

    def __init__(self, http: httpx.AsyncClient, rasa_url: str, secret: str) -> None:
        self._http = http
        self._url = rasa_url.rstrip("/") + "/webhooks/trusted/webhook"
        self._secret = secret

    async def send(self, *, shopper_id: str, conversation_id: str, event: str, **fields: Any) -> BotAnswer:
        """Send one event (text|button|photo|start); return the bot's replies to it."""
        body = {"shopper_id": shopper_id, "conversation_id": conversation_id, "event": event}
        body.update({k: v for k, v in fields.items() if v is not None})
        try:
            resp = await self._http.post(self._url, json=body, headers={"X-Channel-Secret": self._secret})
        except httpx.HTTPError as exc:
            raise BotUnavailable(str(exc)) from exc
        if resp.status_code == 422:
            code = _code(resp)
            if code == "button_not_offered":
                raise GatewayError(422, "button_not_offered")
            raise GatewayError(422, code or "bad_message")
        if resp.status_code >= 300:
            raise BotUnavailable(f"rasa answered {resp.status_code}")
        body = resp.json()
        messages = body.get("messages") or []
        nlu = body.get("nlu")
        return BotAnswer(
            replies=[_reply(m) for m in messages if isinstance(m, dict)],
            nlu=nlu if isinstance(nlu, dict) else None,
        )


def _code(resp: httpx.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return ""
    if isinstance(data, dict):
        detail = data.get("code") or data.get("detail")
        if isinstance(detail, dict):
            detail = detail.get("code")
        return str(detail or "")
    return ""
