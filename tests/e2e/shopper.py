"""A shopper talking to the real stack through the public gateway API, as the app does (docs/api.md), and the
scripted conversations of tests/conversations/*.yml played through it.

A script's turns are typed text, or one of:
    <photos>         upload, one by one, every photo the bot asks for
    <photo:KIND>     upload one photo of that kind (package | label | items)
    <pick:TEXT>      click the offered button whose title contains TEXT
The outcome is read from what the shopper and the ledger see: a refund or a coupon made in this conversation,
the conversation waiting for an agent, the bot's answer, or the withdrawal confirmed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import text as sql

from actions.messages import CASE_CANCELLED, NOT_UNDERSTOOD, OFFER_HUMAN, PHOTO_LABELS
from bot.db import make_engine
from tests.e2e.conftest import photo_bytes
from tests.e2e.stack import Stack

OUTCOMES = ("refund", "coupon", "human", "answer", "cancelled")
_MACRO = re.compile(r"^<(photos|photo:(package|label|items)|pick:(.+))>$")
MAX_PHOTOS = 3


class ScriptError(AssertionError):
    """The bot did not offer what the script needs next (no such button, no photo asked for)."""


@dataclass
class GatewayShopper:
    """One conversation of one shopper, through the gateway with a shopper token."""

    stack: Stack
    shopper: str
    conversation: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    seed: int = 0

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.stack.token('shopper', self.shopper)}"}

    def _post(self, path: str, **kwargs: Any) -> list[dict[str, Any]]:
        resp = httpx.post(self.stack.url("gateway") + path, headers=self._headers(), timeout=60, **kwargs)
        assert resp.status_code in (200, 201), f"{path}: {resp.status_code} {resp.text}"
        new = [m for m in resp.json()["messages"] if m["sender"] != "shopper"]
        self.messages += resp.json()["messages"]
        return new

    def open(self, order_id: str | None = None) -> list[dict[str, Any]]:
        resp = httpx.post(self.stack.url("gateway") + "/api/conversations", headers=self._headers(),
                          json={"order_id": order_id} if order_id else {}, timeout=60)
        assert resp.status_code == 201, resp.text
        self.conversation = resp.json()["conversation_id"]
        self.messages = list(resp.json()["messages"])
        return self.messages

    def say(self, text: str) -> list[dict[str, Any]]:
        return self._post(f"/api/conversations/{self.conversation}/messages", json={"text": text})

    def click(self, payload: str) -> list[dict[str, Any]]:
        return self._post(f"/api/conversations/{self.conversation}/messages", json={"button": payload})

    def photo(self, kind: str) -> list[dict[str, Any]]:
        self.seed += 1
        data = photo_bytes(hash((self.conversation, self.seed)) & 0xFFFFFF)
        return self._post(f"/api/conversations/{self.conversation}/photos", data={"kind": kind},
                          files={"file": (f"{kind}.jpg", data, "image/jpeg")})

    def bot_texts(self) -> list[str]:
        return [m.get("text") or "" for m in self.messages if m["sender"] in ("bot", "agent")]

    def offered(self) -> list[dict[str, str]]:
        """The buttons of the bot's latest message that has any."""
        for message in reversed(self.messages):
            if message["sender"] == "bot" and message.get("buttons"):
                return list(message["buttons"])
        return []

    def asked_photo(self) -> str | None:
        """The photo kind the bot's latest message asks for, read from its text as a shopper reads it."""
        for message in reversed(self.messages):
            if message["sender"] != "bot":
                continue
            asked = message.get("text") or ""
            for kind, label in PHOTO_LABELS.items():
                if f"上传{label}" in asked or re.search(f"上传[①②③④⑤]{re.escape(label)}", asked):
                    return kind
            return None
        return None

    def play(self, turn: str) -> None:
        """One scripted turn."""
        macro = _MACRO.match(turn.strip())
        if not macro:
            self.say(turn)
        elif macro.group(1) == "photos":
            for _ in range(MAX_PHOTOS):
                kind = self.asked_photo()
                if kind is None:
                    break
                self.photo(kind)
        elif macro.group(2):
            self.photo(macro.group(2))
        else:
            wanted = macro.group(3)
            button = next((b for b in self.offered() if wanted.lower() in b["title"].lower()), None)
            if button is None:
                raise ScriptError(f"no offered button with {wanted!r}: {[b['title'] for b in self.offered()]}")
            self.click(button["payload"])


@dataclass(frozen=True)
class Script:
    id: str
    shopper: str
    turns: tuple[str, ...]
    expect: str
    order: str | None = None


def load_scripts(path: Path) -> list[Script]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]
    scripts = [Script(c["id"], c["shopper"], tuple(str(t) for t in c["turns"]), c["expect"], c.get("order"))
               for c in raw]
    unknown = [s.id for s in scripts if s.expect not in OUTCOMES]
    assert not unknown, f"unknown expected outcomes in {path}: {unknown}"
    return scripts


def outcome(stack: Stack, chat: GatewayShopper) -> str:
    """What the conversation reached, as the ledger, the agent queue and the transcript show it."""
    engine = make_engine(stack.database_url)
    try:
        with engine.connect() as conn:
            refunds = conn.execute(sql("SELECT count(*) FROM refunds WHERE conversation_id = :c"),
                                   {"c": chat.conversation}).scalar_one()
            coupons = conn.execute(sql("SELECT count(*) FROM coupons WHERE conversation_id = :c"),
                                   {"c": chat.conversation}).scalar_one()
    finally:
        engine.dispose()
    if coupons:
        return "coupon"
    if refunds:
        return "refund"
    queue = httpx.get(stack.url("gateway") + "/api/agent/queue", timeout=30,
                      headers={"Authorization": f"Bearer {stack.token('agent', 'tests')}"}).json()
    if any(item.get("conversation_id") == chat.conversation for item in queue):
        return "human"
    replies = chat.bot_texts()
    if any(CASE_CANCELLED in r for r in replies):
        return "cancelled"
    if replies and not any(r.startswith((NOT_UNDERSTOOD, OFFER_HUMAN)) for r in replies[-1:]):
        return "answer"
    return "not understood"


# Every remedy made by earlier conversations, undone: the demo orders as seeded (s3's history stays).
_RESET_LEDGER = (
    "DELETE FROM notifications WHERE coupon_id IS NOT NULL OR refund_id IN "
    "(SELECT id FROM refunds WHERE idempotency_key NOT LIKE 'seed-%')",
    "DELETE FROM refund_photos WHERE refund_id IN (SELECT id FROM refunds WHERE idempotency_key NOT LIKE 'seed-%')",
    "DELETE FROM refund_events WHERE refund_id IN (SELECT id FROM refunds WHERE idempotency_key NOT LIKE 'seed-%')",
    "DELETE FROM refunds WHERE idempotency_key NOT LIKE 'seed-%'",
    "DELETE FROM coupons",
    "UPDATE order_lines SET remedied_quantity = COALESCE((SELECT SUM(quantity) FROM refunds r "
    "WHERE r.line_id = order_lines.line_id), 0), refunded_cents = COALESCE((SELECT SUM(amount_cents) "
    "FROM refunds r WHERE r.line_id = order_lines.line_id), 0)",
)


def reset_ledger(stack: Stack) -> None:
    """Each script is a shopper meeting the demo orders as seeded, whatever the scripts before it bought back."""
    engine = make_engine(stack.database_url)
    try:
        with engine.begin() as conn:
            for statement in _RESET_LEDGER:
                conn.execute(sql(statement))
    finally:
        engine.dispose()


def run_script(stack: Stack, script: Script) -> tuple[str, GatewayShopper]:
    """Play a script from a new conversation on a fresh ledger; the outcome it reached and the conversation."""
    reset_ledger(stack)
    chat = GatewayShopper(stack, script.shopper)
    chat.open(script.order)
    try:
        for turn in script.turns:
            chat.play(turn)
    except ScriptError as exc:
        chat.messages.append({"sender": "tests", "text": str(exc)})
        return "stuck", chat
    return outcome(stack, chat), chat
