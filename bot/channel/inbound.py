"""Turning one gateway request into the text Rasa sees, so shopper input can never forge an intent.

Pure functions, no Sanic and no tracker store: the blueprint in `trusted.py` only wires them up.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from rasa.shared.core.events import Event

from bot.rasa_protocol import (
    EVENTS,
    ID_PATTERN,
    MAX_PAYLOAD_CHARS,
    MAX_TEXT_CHARS,
    PHOTO_ID_PATTERN,
    PHOTO_KINDS,
    sender_id,
)

# The shopper asked for a person (typed 转人工 or the 转人工 button): the bot's own handoff rule runs.
HUMAN_MESSAGE = f"{INTENT_MESSAGE_PREFIX}request_human"

# Slashes Rasa would read as (or a reader would mistake for) the "/intent{...}" prefix.
SLASHES = frozenset("/\uff0f\u2215\u2044\u29f8")  # / ／ ∕ ⁄ ⧸
# Invisible or non-spacing leading characters: controls, format (zero-width, BOM, bidi), separators,
# combining marks. Rasa's own strip() only removes str.isspace() characters.
_INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"})

_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {  # event -> (required, optional)
    "text": (frozenset({"text"}), frozenset()),
    "button": (frozenset({"payload"}), frozenset()),
    "photo": (frozenset({"photo_id", "photo_kind"}), frozenset()),
    "start": (frozenset(), frozenset({"order_id"})),
    "human": (frozenset(), frozenset()),
}
_COMMON = frozenset({"shopper_id", "conversation_id", "event"})


class ChannelError(Exception):
    """A request the channel refuses; `code` is stable, `message` is English for the gateway's logs."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def _is_leading_junk(ch: str) -> bool:
    if ch.isspace() or ch in SLASHES or unicodedata.category(ch) in _INVISIBLE:
        return True
    folded = unicodedata.normalize("NFKC", ch)  # catches compatibility look-alikes such as "／"
    return bool(folded) and (folded[0] == INTENT_MESSAGE_PREFIX or folded[0].isspace())


def _looks_like_intent(text: str) -> bool:
    return any(form.strip().startswith(INTENT_MESSAGE_PREFIX) for form in (text, unicodedata.normalize("NFKC", text)))


def sanitise_text(text: str) -> str:
    """Typed text with leading blanks, invisible characters and slashes removed (repeatedly).

    Whatever comes back, stripped the way Rasa strips a UserMessage, cannot start with "/", so Rasa
    never reads it as `/intent{entities}`. Everything after the first visible character is untouched.
    """
    while True:
        start = 0
        while start < len(text) and _is_leading_junk(text[start]):
            start += 1
        text = text[start:].rstrip()
        if not _looks_like_intent(text):
            return text


def build_photo_message(kind: str, photo_id: str) -> str:
    """The intent message that puts an uploaded photo id into its evidence slot."""
    if kind not in PHOTO_KINDS:
        raise ChannelError(422, "bad_photo_kind", f"photo_kind must be one of {', '.join(PHOTO_KINDS)}")
    if not isinstance(photo_id, str) or not PHOTO_ID_PATTERN.fullmatch(photo_id):
        raise ChannelError(422, "bad_photo_id", "photo_id must be 32 lowercase hex characters")
    return f"{INTENT_MESSAGE_PREFIX}upload_photo{json.dumps({f'photo_{kind}': photo_id})}"


def build_start_message(order_id: str | None) -> str:
    """The intent message that opens a conversation: a greeting, optionally about one order.

    It reuses `greet` rather than a private intent, because every domain intent needs NLU
    examples and nobody types "start a conversation".
    """
    if order_id is None:
        return f"{INTENT_MESSAGE_PREFIX}greet"
    if not isinstance(order_id, str) or not ID_PATTERN.fullmatch(order_id):
        raise ChannelError(422, "bad_order_id", "order_id must match [A-Za-z0-9_-]{1,64}")
    return f"{INTENT_MESSAGE_PREFIX}greet{json.dumps({'order_id': order_id})}"


def _event_dict(event: Event | Mapping[str, Any]) -> Mapping[str, Any]:
    return event if isinstance(event, Mapping) else event.as_dict()


def offered_button(events: Iterable[Event | Mapping[str, Any]], payload: str) -> dict[str, str] | None:
    """The button with exactly this payload that a bot turn among these events offered (the latest), or None.

    This is the one check that a clicked button was offered: the tracker is the bot's own record of
    what it showed this sender, and the channel is where a payload becomes an intent.
    """
    if not isinstance(payload, str):
        return None
    found = None
    for event in events:
        data = _event_dict(event)
        if data.get("event") != "bot":
            continue
        for b in (data.get("data") or {}).get("buttons") or []:
            if isinstance(b, Mapping) and b.get("payload") == payload:
                found = {"title": str(b.get("title") or payload), "payload": payload}
    return found


@dataclass(frozen=True)
class Inbound:
    """One validated request: who sent it, and the text to hand to Rasa."""

    shopper_id: str
    conversation_id: str
    event: str
    text: str

    @property
    def sender_id(self) -> str:
        return sender_id(self.shopper_id, self.conversation_id)

    @property
    def metadata(self) -> dict[str, str]:
        return {"shopper_id": self.shopper_id, "conversation_id": self.conversation_id, "event": self.event}


def _string(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise ChannelError(422, f"bad_{key}", f"{key} must be a string")
    try:
        value.encode("utf-8")  # lone surrogates from "\ud800" escapes would break the tracker store
    except UnicodeEncodeError as exc:
        raise ChannelError(422, f"bad_{key}", f"{key} is not valid Unicode text") from exc
    return value


def _id(body: Mapping[str, Any], key: str) -> str:
    value = _string(body, key)
    if not ID_PATTERN.fullmatch(value):
        raise ChannelError(422, f"bad_{key}", f"{key} must match [A-Za-z0-9_-]{{1,64}}")
    return value


def parse_inbound(body: Any) -> Inbound:
    """Validate a decoded JSON body strictly (for buttons the caller still checks the payload was offered)."""
    if not isinstance(body, dict):
        raise ChannelError(422, "bad_body", "the body must be a JSON object")
    event = body.get("event")
    if event not in EVENTS:
        raise ChannelError(422, "bad_event", f"event must be one of {', '.join(EVENTS)}")
    required, optional = _FIELDS[event]
    unknown = set(body) - _COMMON - required - optional
    if unknown:
        names = ", ".join(sorted(map(ascii, unknown)))[:200]
        raise ChannelError(422, "unexpected_field", f"fields not allowed for {event}: {names}")
    missing = (_COMMON | required) - set(body)
    if missing:
        raise ChannelError(422, "missing_field", f"missing fields: {', '.join(sorted(missing))}")
    shopper_id, conversation_id = _id(body, "shopper_id"), _id(body, "conversation_id")

    if event == "text":
        text = sanitise_text(_string(body, "text"))
        if not text:
            raise ChannelError(422, "empty_text", "the text is empty without leading slashes and blanks")
        if len(text) > MAX_TEXT_CHARS:
            raise ChannelError(422, "text_too_long", f"the text is longer than {MAX_TEXT_CHARS} characters")
    elif event == "button":
        text = _string(body, "payload")
        if not text or len(text) > MAX_PAYLOAD_CHARS:
            raise ChannelError(422, "button_not_offered", "no button with this payload was offered")
    elif event == "photo":
        text = build_photo_message(_string(body, "photo_kind"), _string(body, "photo_id"))
    elif event == "human":
        text = HUMAN_MESSAGE
    else:
        order_id = body.get("order_id")
        text = build_start_message(None if order_id is None else _string(body, "order_id"))
    return Inbound(shopper_id=shopper_id, conversation_id=conversation_id, event=event, text=text)
