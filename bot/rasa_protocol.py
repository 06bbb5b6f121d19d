"""How our processes talk to Rasa: the one owner of sender ids, event names, photo kinds, limits and URLs.

The gateway, the actions, the trainer and the CLI import what they need from here; the trusted channel
(`bot/channel/`) implements the server side of the same protocol. Nothing here imports Rasa, so the gateway
and the refund service stay light.
"""

from __future__ import annotations

import re
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

# ---- what a message may carry ---------------------------------------------------------------

PHOTO_KINDS = ("package", "label", "items")  # 快递外包装整个图, 快递面单, 收到的所有商品照片
EVENTS = ("text", "button", "photo", "start", "human")  # the trusted channel's request kinds
MAX_TEXT_CHARS = 1000  # one shopper message, one agent reply, one training example
MAX_PAYLOAD_CHARS = 2000  # a button payload
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")  # shopper, conversation, order and agent ids
PHOTO_ID_PATTERN = re.compile(r"[0-9a-f]{32}")

# ---- the tracker of a conversation ----------------------------------------------------------

_SENDER_SEPARATOR = ":"


def sender_id(shopper_id: str, conversation_id: str) -> str:
    """The Rasa tracker id of one conversation (ids match ID_PATTERN, so the separator is unambiguous)."""
    return f"{shopper_id}{_SENDER_SEPARATOR}{conversation_id}"


def parse_sender_id(sender: str) -> tuple[str, str] | None:
    """(shopper_id, conversation_id) of a tracker id, or None when it is not one of ours."""
    shopper, sep, conversation = sender.partition(_SENDER_SEPARATOR)
    if not sep or not ID_PATTERN.fullmatch(shopper) or not ID_PATTERN.fullmatch(conversation):
        return None
    return shopper, conversation


# ---- endpoints ------------------------------------------------------------------------------

SECRET_HEADER = "X-Channel-Secret"
CHANNEL_NAME = "trusted"  # Rasa mounts an input channel's routes under /webhooks/<name>
CHANNEL_PREFIX = f"/webhooks/{CHANNEL_NAME}"
WEBHOOK_PATH = f"{CHANNEL_PREFIX}/webhook"  # one shopper event in, the bot's replies out
MODEL_PATH = f"{CHANNEL_PREFIX}/model"  # load a model beside the live one and swap it in
HANDOFF_REASONS = ("asked", "risk", "appeal", "complaint", "fallback")  # why a conversation waits for an agent


def handoff_request(reason: str, refund_id: str | None = None) -> dict[str, Any]:
    """The custom reply an action sends to ask for an agent; the gateway queues the conversation.

    The bot does not call the gateway back (its request to Rasa is still open then), and Rasa's tracker is
    never paused: the gateway's SQL holder alone decides whether the bot is asked at all.
    """
    if reason not in HANDOFF_REASONS:
        raise ValueError(f"unknown handoff reason {reason!r}")
    return {"handoff": {"reason": reason, "refund_id": refund_id}}


# ---- the bot's answer -----------------------------------------------------------------------


class BotUnavailable(Exception):
    """Rasa did not answer (down, timeout, 5xx)."""


class ChannelRefused(Exception):
    """The trusted channel refused the request (422): `code` says why, e.g. button_not_offered."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class BotReply:
    text: str
    buttons: list[dict[str, str]]
    image: str | None = None


@dataclass(frozen=True)
class Handoff:
    reason: str
    refund_id: str | None = None


@dataclass(frozen=True)
class BotAnswer:
    """The bot's replies to one event; for text, what the model understood; and whether it asks for an agent."""

    replies: list[BotReply]
    nlu: dict[str, Any] | None = None
    handoff: Handoff | None = None
    button_title: str | None = None  # for a button event: the title of the offered button clicked


def event_body(shopper_id: str, conversation_id: str, event: str, **fields: Any) -> dict[str, Any]:
    """The JSON body of one trusted-channel request (fields that are None are left out)."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    body = {"shopper_id": shopper_id, "conversation_id": conversation_id, "event": event}
    body.update({k: v for k, v in fields.items() if v is not None})
    return body


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


def _handoff(messages: list[Any]) -> Handoff | None:
    for raw in messages:
        custom = raw.get("custom") if isinstance(raw, dict) else None
        wanted = custom.get("handoff") if isinstance(custom, dict) else None
        if isinstance(wanted, dict) and wanted.get("reason") in HANDOFF_REASONS:
            refund_id = wanted.get("refund_id")
            ok = isinstance(refund_id, str) and ID_PATTERN.fullmatch(refund_id)
            return Handoff(reason=str(wanted["reason"]), refund_id=refund_id if ok else None)
    return None


def parse_answer(body: Any) -> BotAnswer:
    """The channel's JSON response as a BotAnswer; malformed parts are dropped, never trusted."""
    body = body if isinstance(body, dict) else {}
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    nlu = body.get("nlu")
    button = body.get("button")
    return BotAnswer(
        replies=[_reply(m) for m in messages],
        nlu=nlu if isinstance(nlu, dict) else None,
        handoff=_handoff(messages),
        button_title=str(button.get("title") or "") or None if isinstance(button, dict) else None,
    )


def refusal_code(resp: httpx.Response) -> str:
    """The stable code of a 422 from the channel ("" when the body has none)."""
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


# ---- clients --------------------------------------------------------------------------------


def rasa_urls(value: str) -> tuple[str, ...]:
    """The Rasa workers of a RASA_URL setting: one URL, or several separated by commas."""
    urls = tuple(u.strip().rstrip("/") for u in value.split(",") if u.strip())
    if not urls:
        raise ValueError("RASA_URL names no Rasa server")
    return urls


def workers_for(conversation: str, urls: tuple[str, ...]) -> list[str]:
    """The order in which to ask the workers for one conversation: its own worker first (a stable hash, so its
    turns usually meet in one process), then the others. Any worker may serve any conversation: the lock store
    (bot/channel/lock_store.py) orders turns across processes."""
    start = zlib.crc32(conversation.encode()) % len(urls)
    return list(urls[start:] + urls[:start])


class TrustedChannel:
    """The gateway's client: posts events to {rasa}/webhooks/trusted/webhook with the channel secret.

    With several Rasa workers, a worker that refuses the connection (stopped, restarting) is skipped for the next
    one: nothing was sent, so nothing can be handled twice. A worker that took the request and then failed is not
    retried elsewhere (it may have handled the message): the caller hears BotUnavailable.
    """

    def __init__(self, http: httpx.AsyncClient, rasa_url: str, secret: str) -> None:
        self._http = http
        self._urls = rasa_urls(rasa_url)
        self._secret = secret

    async def send(self, *, shopper_id: str, conversation_id: str, event: str, **fields: Any) -> BotAnswer:
        """Send one event; return the bot's replies. Raises BotUnavailable or ChannelRefused."""
        body = event_body(shopper_id, conversation_id, event, **fields)
        resp: httpx.Response | None = None
        for url in workers_for(conversation_id, self._urls):
            try:
                resp = await self._http.post(url + WEBHOOK_PATH, json=body, headers={SECRET_HEADER: self._secret})
                break
            except httpx.ConnectError as exc:  # never reached that worker: try the next
                unreachable: Exception = exc
            except httpx.HTTPError as exc:
                raise BotUnavailable(str(exc)) from exc
        if resp is None:
            raise BotUnavailable(f"no Rasa worker reachable: {unreachable}")
        if resp.status_code == 422:
            raise ChannelRefused(refusal_code(resp) or "bad_message")
        if resp.status_code >= 300:
            raise BotUnavailable(f"rasa answered {resp.status_code}")
        return parse_answer(resp.json())


class ReloadFailed(RuntimeError):
    """Rasa refused or failed to load the model, or reports another model afterwards."""


LOAD_TIMEOUT = 300.0  # building a new agent on two busy cores can take a minute or more


@dataclass(frozen=True)
class RasaServer:
    """Rasa as the trainer and the terminal chat see it: which model it serves, loading another, one event.

    Loading goes through the trusted channel's model endpoint, which builds the new agent in a worker thread
    beside the old one and swaps it in (Rasa's own `PUT /model` loads on its event loop and holds every answer
    for the 30-40 s a load takes). Conversations carry on: the tracker and lock stores are shared.
    """

    url: str  # one Rasa URL, or several workers' separated by commas (RASA_URL)
    token: str  # Rasa's API token (/status)
    secret: str  # the trusted channel's secret (events, loading)

    @classmethod
    def from_settings(cls) -> RasaServer:
        from bot.settings import get_settings

        settings = get_settings()
        return cls(settings.rasa_url, settings.rasa_api_token, settings.channel_secret)

    @property
    def workers(self) -> tuple[str, ...]:
        return rasa_urls(self.url)

    def _model_of(self, worker: str, timeout: float) -> str | None:
        try:
            resp = httpx.get(f"{worker}/status", params={"token": self.token}, timeout=timeout)
        except httpx.HTTPError:
            return None
        if resp.status_code != 200:
            return None
        return resp.json().get("model_file") or None

    def live_model(self, timeout: float = 5.0) -> str | None:
        """The file name of the model every worker serves; None when one does not answer, has no model, or the
        workers disagree (a load half done)."""
        models = {self._model_of(worker, timeout) for worker in self.workers}
        return models.pop() if len(models) == 1 else None

    def load(self, model: Path) -> float:
        """Load `model` (a path local to the Rasa servers) on every worker in turn, confirm with /status; return
        the seconds it took. The workers load one after another, so the others keep answering meanwhile."""
        started = time.monotonic()
        for worker in self.workers:
            try:
                resp = httpx.post(f"{worker}{MODEL_PATH}", headers={SECRET_HEADER: self.secret},
                                  json={"model_file": str(model.resolve())}, timeout=LOAD_TIMEOUT)
            except httpx.HTTPError as exc:
                raise ReloadFailed(f"loading {model.name} on {worker} failed: {exc!r}") from exc
            if resp.status_code != 200:
                raise ReloadFailed(f"loading {model.name} on {worker} answered {resp.status_code}: "
                                   f"{resp.text[:300]}")
        live = self.live_model(timeout=30)
        if live != model.name:
            raise ReloadFailed(f"after loading {model.name} Rasa reports {live!r}")
        return time.monotonic() - started

    def send(self, shopper_id: str, conversation_id: str, event: str, timeout: float = 60, **fields: Any) -> BotAnswer:
        """One event, synchronously (the terminal chat). Raises BotUnavailable or ChannelRefused."""
        body = event_body(shopper_id, conversation_id, event, **fields)
        worker = workers_for(conversation_id, self.workers)[0]
        try:
            resp = httpx.post(f"{worker}{WEBHOOK_PATH}", json=body, headers={SECRET_HEADER: self.secret},
                              timeout=timeout)
        except httpx.HTTPError as exc:
            raise BotUnavailable(f"Rasa at {worker} is not reachable: {exc}") from exc
        if resp.status_code == 422:
            raise ChannelRefused(refusal_code(resp) or "bad_message")
        if resp.status_code >= 300:
            raise BotUnavailable(f"rasa answered {resp.status_code}: {resp.text[:200]}")
        return parse_answer(resp.json())
