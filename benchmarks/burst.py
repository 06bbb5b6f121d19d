"""A burst of shoppers through the public gateway API: does the stack serve them, or refuse the excess kindly?

N shoppers (created beforehand through the refund service's order feed, as benchmarks/load.py does) open their
conversation at the same instant (`POST /api/conversations` on their order); with --message each then sends
「有一支笔坏了」 as soon as its conversation is open. Per step it prints the answers by status, p50/p95/max seconds
(of all answers, and of the refusals alone: a refusal should come quickly), how many shoppers were served, and
whether every refusal carried Retry-After and the gateway's Chinese error shape. Then it checks that nothing
accepted was lost: every 2xx open has the bot's greeting in the transcript, and every 2xx message is in the
transcript and reached the bot (a user event with that text in the conversation's Rasa tracker).

    .venv/bin/python -m benchmarks.burst [--shoppers 45,200] [--message] [--database-url postgresql://...]
    .venv/bin/python -m benchmarks.burst --running [--shoppers 45]   # against `bin/up`'s stack (its settings)

Started stacks use the ports --ports names (default 8100/8101/5105/5155/6391) and a temporary SQLite file unless
--database-url names PostgreSQL. Each burst gets fresh shoppers; bursts run one after another, --pause apart.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from benchmarks.load import Shopper, create_shoppers
from bot import tokens
from bot.gateway.messages import BOT_UNAVAILABLE
from bot.rasa_protocol import sender_id
from bot.settings import get_settings
from tests.e2e.stack import Stack

PROBLEM = "有一支笔坏了"
PORTS = "gateway=8100,refunds=8101,rasa=5105,actions=5155,redis=6391"


@dataclass
class Answer:
    step: str
    seconds: float
    status: int  # 0: no answer (connection error or timeout)
    retry_after: str | None = None
    chinese: bool = False  # a refusal in the gateway's shape {code, message_zh, message_en}
    code: str = ""


@dataclass
class Outcome:
    shopper: Shopper
    conversation_id: str | None = None
    answers: list[Answer] = field(default_factory=list)


@dataclass
class BurstStack(Stack):
    """The end-to-end tests' stack, with extra environment for every process (--env)."""

    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, **self.extra_env}


class Target:
    """Where the stack answers and how to mint its tokens: one this script started, or `bin/up`'s."""

    def __init__(self, stack: Stack | None) -> None:
        self.stack = stack

    def url(self, name: str) -> str:
        if self.stack is not None:
            return self.stack.url(name)
        settings = get_settings()
        return {"gateway": settings.gateway_url, "refunds": settings.refunds_url, "rasa": settings.rasa_url}[name]

    def token(self, role: str, subject: str) -> str:
        if self.stack is not None:
            return self.stack.token(role, subject)
        return tokens.mint(role, subject, ttl_seconds=3600)

    def service_token(self) -> str:
        return self.token("service", "burst")

    def rasa_token(self) -> str:
        settings = get_settings() if self.stack is None else replace(get_settings(), secret=self.stack.secret)
        return settings.rasa_api_token


async def _post(client: httpx.AsyncClient, outcome: Outcome, step: str, url: str, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {outcome.shopper.token}"}
    started = time.monotonic()
    try:
        resp = await client.post(url, headers=headers, **kwargs)
    except httpx.HTTPError:
        outcome.answers.append(Answer(step, time.monotonic() - started, 0))
        return None
    answer = Answer(step, time.monotonic() - started, resp.status_code, resp.headers.get("retry-after"))
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code >= 400 and isinstance(body, dict):
        answer.code = str(body.get("code", ""))
        answer.chinese = bool(body.get("message_zh")) and bool(body.get("message_en")) and bool(answer.code)
    outcome.answers.append(answer)
    return body if resp.status_code in (200, 201) else None


async def shopper_burst(target: Target, outcome: Outcome, client: httpx.AsyncClient, start: asyncio.Event,
                        message: bool) -> None:
    gateway = target.url("gateway")
    await start.wait()
    opened = await _post(client, outcome, "open", f"{gateway}/api/conversations",
                         json={"order_id": outcome.shopper.order_id})
    if opened is None:
        return
    outcome.conversation_id = opened["conversation_id"]
    if message:
        await _post(client, outcome, "message", f"{gateway}/api/conversations/{outcome.conversation_id}/messages",
                    json={"text": PROBLEM})


async def lost(target: Target, outcomes: list[Outcome], client: httpx.AsyncClient) -> list[str]:
    """What an accepted request should have left behind and did not (one line per loss)."""
    problems: list[str] = []
    gateway, rasa = target.url("gateway"), target.url("rasa")
    for outcome in outcomes:
        cid = outcome.conversation_id
        if cid is None:
            continue
        headers = {"Authorization": f"Bearer {outcome.shopper.token}"}
        resp = await client.get(f"{gateway}/api/conversations/{cid}/messages", headers=headers)
        msgs = resp.json()["messages"] if resp.status_code == 200 else []
        if not any(m["sender"] == "bot" and m["text"] != BOT_UNAVAILABLE for m in msgs):
            problems.append(f"{cid}: opened (2xx) without the bot's greeting in the transcript")
        if not any(a.step == "message" and a.status in (200, 201) for a in outcome.answers):
            continue
        if not any(m["sender"] == "shopper" and m["text"] == PROBLEM for m in msgs):
            problems.append(f"{cid}: the message got a 2xx but is not in the transcript")
        sender = sender_id(outcome.shopper.shopper_id, cid)
        tracker = await client.get(f"{rasa}/conversations/{sender}/tracker", params={"token": target.rasa_token()})
        events = tracker.json().get("events", []) if tracker.status_code == 200 else []
        if not any(e.get("event") == "user" and PROBLEM in (e.get("text") or "") for e in events):
            problems.append(f"{cid}: the message got a 2xx but never reached the bot (not in its tracker)")
    return problems


def _seconds(values: list[float]) -> str:
    if not values:
        return "-"
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return f"p50 {statistics.median(values):5.2f}  p95 {p95:5.2f}  max {values[-1]:5.2f}"


def report(n: int, outcomes: list[Outcome], elapsed: float, problems: list[str]) -> None:
    answers = [a for o in outcomes for a in o.answers]
    print(f"--- burst of {n}: {elapsed:.1f} s until the last answer")
    for step in ("open", "message"):
        mine = [a for a in answers if a.step == step]
        if not mine:
            continue
        refused = [a for a in mine if a.status not in (200, 201)]
        shaped = sum(1 for a in refused if a.chinese and (a.retry_after or a.status not in (429, 503)))
        codes = Counter(f"{a.status} {a.code}".strip() for a in refused)
        statuses = dict(sorted(Counter(a.status for a in mine).items()))
        print(f"  {step:7s} {statuses}   all: {_seconds([a.seconds for a in mine])}")
        if refused:
            print(f"          refused: {_seconds([a.seconds for a in refused])}   {dict(codes)}   "
                  f"with Retry-After + Chinese shape: {shaped}/{len(refused)}")
    served = sum(1 for o in outcomes if o.conversation_id is not None)
    print(f"  served (conversation opened): {served}/{n}")
    print(f"  lost after a 2xx: {len(problems)}" + "".join(f"\n    {p}" for p in problems[:10]))


async def run_burst(target: Target, n: int, message: bool) -> None:
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=500)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        shoppers = await create_shoppers(target, n, client)  # type: ignore[arg-type]  # url/token/service_token
        outcomes = [Outcome(s) for s in shoppers]
        start = asyncio.Event()
        tasks = [asyncio.create_task(shopper_burst(target, o, client, start, message)) for o in outcomes]
        await asyncio.sleep(0.2)  # every task waits at the start line
        began = time.monotonic()
        start.set()
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - began
        report(n, outcomes, elapsed, await lost(target, outcomes, client))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shoppers", default="45,200", help="burst sizes, comma separated, run one after another")
    parser.add_argument("--message", action="store_true", help="each opened conversation then sends a first message")
    parser.add_argument("--running", action="store_true", help="use the stack `bin/up` runs (this checkout's settings)")
    parser.add_argument("--database-url", default=None, help="of a started stack; default: a temporary SQLite file")
    parser.add_argument("--ports", default=PORTS, help="ports of a started stack, name=port comma separated")
    parser.add_argument("--pause", type=float, default=5, help="seconds between bursts")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the started stack (repeatable)")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.shoppers.split(",")]

    stack = None
    if not args.running:
        workdir = Path(tempfile.mkdtemp(prefix="burst-"))
        stack = BurstStack(workdir=workdir, database_url=args.database_url or f"sqlite:///{workdir / 'burst.sqlite3'}")
        stack.ports.update({k: int(v) for k, v in (p.split("=") for p in args.ports.split(","))})
        stack.extra_env = dict(item.split("=", 1) for item in args.env)
        print(f"starting the stack in {workdir} ({stack.database_url.split(':')[0]}) ...", flush=True)
        stack.start()
    try:
        for i, n in enumerate(sizes):
            if i:
                time.sleep(args.pause)
            asyncio.run(run_burst(Target(stack), n, args.message))
    finally:
        if stack is not None:
            stack.stop()
            print(f"process logs: {stack.workdir / 'logs'}")


if __name__ == "__main__":
    main()
