"""What the fault tests of the real stack share: a shopper talking through the gateway who times every answer, the
fault marks bot/faults.py leaves, a stand-in for bot.supervise that starts a killed process again, and the ledger's
invariants read in SQL."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text as sql

from bot.db import make_engine
from tests.e2e.conftest import photo_bytes
from tests.e2e.stack import Stack

FEW_SECONDS = 15.0  # "a clear message within a few seconds": a bound, not a benchmark
_seeds = itertools.count(int(time.time()) % 100_000 * 100)


@dataclass
class Turn:
    """One request of the shopper: its HTTP status, the messages it returned, and how long it took."""

    status: int
    messages: list[dict[str, Any]]
    seconds: float

    @property
    def bot_text(self) -> str:
        return "\n".join(m.get("text") or "" for m in self.messages if m["sender"] == "bot")

    @property
    def buttons(self) -> list[dict[str, str]]:
        return [b for m in self.messages if m["sender"] == "bot" for b in (m.get("buttons") or [])]


@dataclass
class Shopper:
    """One conversation of a shopper through the gateway's public API, as the app holds it."""

    stack: Stack
    shopper: str = "s1"
    conversation: str = ""
    turns: list[Turn] = field(default_factory=list)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.stack.token('shopper', self.shopper)}"}

    def _post(self, path: str, **kwargs: Any) -> Turn:
        started = time.monotonic()
        resp = httpx.post(self.stack.url("gateway") + path, headers=self._headers(), timeout=120, **kwargs)
        body = resp.json()
        turn = Turn(resp.status_code, list(body.get("messages") or []), time.monotonic() - started)
        if resp.status_code >= 400:
            turn.messages = [{"sender": "error", "text": body.get("message_zh", ""), "body": body}]
        self.turns.append(turn)
        return turn

    def say(self, text: str) -> Turn:
        return self._post(f"/api/conversations/{self.conversation}/messages", json={"text": text})

    def click(self, payload: str) -> Turn:
        return self._post(f"/api/conversations/{self.conversation}/messages", json={"button": payload})

    def photo(self, kind: str) -> Turn:
        data = photo_bytes(next(_seeds))
        return self._post(f"/api/conversations/{self.conversation}/photos", data={"kind": kind},
                          files={"file": (f"{kind}.jpg", data, "image/jpeg")})

    def transcript(self) -> list[dict[str, Any]]:
        resp = httpx.get(f"{self.stack.url('gateway')}/api/conversations/{self.conversation}/messages",
                         headers=self._headers(), timeout=30)
        assert resp.status_code == 200, resp.text
        return list(resp.json()["messages"])


def open_chat(stack: Stack, shopper: str = "s1", order_id: str = "O1001") -> Shopper:
    chat = Shopper(stack, shopper)
    resp = httpx.post(stack.url("gateway") + "/api/conversations", headers=chat._headers(),
                      json={"order_id": order_id}, timeout=120)
    assert resp.status_code == 201, resp.text
    chat.conversation = resp.json()["conversation_id"]
    return chat


def to_offer(chat: Shopper) -> Turn:
    """From an open chat: the pen case and its three photos, up to the offer of refund or coupon."""
    asked = chat.say("有一支笔坏了")
    assert asked.status == 200 and "快递外包装" in asked.bot_text, asked
    for kind in ("package", "label", "items"):
        turn = chat.photo(kind)
        assert turn.status == 201, turn
    assert [b["payload"] for b in turn.buttons] == ["/choose_refund", "/choose_coupon"], turn
    return turn


def wait_for(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"no {what} within {seconds} s"
        time.sleep(0.05)


def fired(mark: Path, point: str) -> bool:
    return mark.is_file() and any(line.split()[0] == point for line in mark.read_text().splitlines() if line)


class Restarter:
    """bot.supervise's part in these tests: once process `name` dies, start it again (unarmed) after `delay`."""

    def __init__(self, stack: Stack, name: str, delay: float = 0.0) -> None:
        self.stack, self.name, self.delay = stack, name, delay
        self.proc = stack.procs[name]
        self.cancelled = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while self.proc.poll() is None:
            if self.cancelled.wait(0.05):
                return
        if not self.cancelled.wait(self.delay):
            self.stack.restart(self.name)

    def join(self, timeout: float = 60) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"{self.name} was not started again within {timeout} s"

    def cancel(self) -> None:
        self.cancelled.set()
        self.thread.join(30)


def ledger_problems(database_url: str) -> list[str]:
    """What breaks the ledger's invariants, read in SQL (empty when it holds):
    refunded ≤ paid and remedied ≤ bought on every line, and each line's totals are the sum of its refunds and coupons
    (nothing half-written); every refund has its events, from `requested` to its state, each step from the last;
    each settled refund has one settlement notice and no other refund one; each coupon one notice; no notice is told
    twice in a chat."""
    problems: list[str] = []
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            def rows(query: str) -> list[Any]:
                return list(conn.execute(sql(query)))

            problems += [f"line {r[0]} over-remedied" for r in rows(
                "SELECT line_id FROM order_lines WHERE refunded_cents > unit_price_cents * quantity "
                "OR remedied_quantity > quantity OR remedied_quantity < 0 OR refunded_cents < 0")]
            problems += [f"line {r[0]}: remedied {r[1]} / refunded {r[2]}, but its refunds and coupons sum to {r[3]} / "
                         f"{r[4]}" for r in rows(
                "SELECT l.line_id, l.remedied_quantity, l.refunded_cents, "
                "COALESCE((SELECT SUM(quantity) FROM refunds r WHERE r.line_id = l.line_id "
                "AND r.state <> 'rejected'), 0) "
                "+ COALESCE((SELECT SUM(quantity) FROM coupons c WHERE c.line_id = l.line_id), 0) AS q, "
                "COALESCE((SELECT SUM(amount_cents) FROM refunds r WHERE r.line_id = l.line_id "
                "AND r.state <> 'rejected'), 0) AS c FROM order_lines l") if (r[1], r[2]) != (r[3], r[4])]
            events: dict[str, list[tuple[str | None, str]]] = {}
            for refund_id, from_state, to_state in rows("SELECT refund_id, from_state, to_state FROM refund_events "
                                                        "ORDER BY refund_id, id"):
                events.setdefault(refund_id, []).append((from_state, to_state))
            for refund_id, state, key in rows("SELECT id, state, idempotency_key FROM refunds"):
                chain = events.get(refund_id, [])
                if key.startswith("seed-"):
                    continue  # the demo history: one event, settled
                steps_ok = all(chain[i][0] == chain[i - 1][1] for i in range(1, len(chain)))
                if not chain or chain[0] != (None, "requested") or chain[-1][1] != state or not steps_ok:
                    problems.append(f"refund {refund_id} ({state}) has events {chain}")
            for refund_id, state, told in rows(
                    "SELECT r.id, r.state, (SELECT COUNT(*) FROM notifications n WHERE n.refund_id = r.id "
                    "AND n.kind = 'refund_settled') FROM refunds r WHERE r.idempotency_key NOT LIKE 'seed-%'"):
                if told != (1 if state == "settled" else 0):
                    problems.append(f"refund {refund_id} ({state}) has {told} settlement notices")
            problems += [f"coupon {r[0]} has {r[1]} notices" for r in rows(
                "SELECT c.id, (SELECT COUNT(*) FROM notifications n WHERE n.coupon_id = c.id) FROM coupons c")
                if r[1] != 1]
            problems += [f"notice {r[0]} told {r[1]} times" for r in rows(
                "SELECT notification_id, COUNT(*) FROM messages WHERE notification_id IS NOT NULL "
                "GROUP BY notification_id HAVING COUNT(*) > 1")]
    finally:
        engine.dispose()
    return problems


def remedies_of(database_url: str, conversation: str) -> dict[str, list[Any]]:
    """The refunds (id, state, amount) and coupons (id, value) made in a conversation, and the notices told in it."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return {
                "refunds": [tuple(r) for r in conn.execute(sql(
                    "SELECT id, state, amount_cents FROM refunds WHERE conversation_id = :c"), {"c": conversation})],
                "coupons": [tuple(r) for r in conn.execute(sql(
                    "SELECT id, value_cents FROM coupons WHERE conversation_id = :c"), {"c": conversation})],
                "told": [r[0] for r in conn.execute(sql(
                    "SELECT text FROM messages WHERE conversation_id = :c AND notification_id IS NOT NULL "
                    "ORDER BY seq"), {"c": conversation})],
            }
    finally:
        engine.dispose()
