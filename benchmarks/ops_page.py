"""The /ops summary on a full database: 100,000 conversations over 30 days, timed through the real services.

Fills a fresh, migrated database (SQLite, and PostgreSQL with --postgres) by bulk inserts (executemany on SQLite,
COPY on PostgreSQL): shoppers and orders over a catalogue of 2,000 SKUs from 200 merchants, then per conversation
a greeting and two shopper texts with their parse (5 % nlu_fallback) and two bot replies, a handoff for one in five,
a refund for two in five (most settled, some by an agent after a while) or a coupon for one in ten, and the
trainers' inbox hits of the fallbacks. Then starts the refund service and the gateway (uvicorn, as bin/up does) on
that database and times `GET /api/ops/summary` for 24 h, 7 d and 30 d: p50/p95 of repeated calls after two warm-up
calls, with an ops token; and the refund service's own `GET /stats/period` and `GET /alerts` for 30 d.

    .venv/bin/python -m benchmarks.ops_page [--conversations 100000] [--calls 20] [--postgres]
        [--redis redis://127.0.0.1:6379/5]

The gateway asks Redis on every staff request (the revocation list): give it a Redis database it may use.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bot.launch import command
from bot.migrate import upgrade_to_head
from bot.settings import ROOT
from bot.tokens import mint
from tests.e2e.stack import free_port

INTENTS = ("report_damaged", "report_missing_item", "choose_refund", "ask_refund_status", "greet", "affirm")
CASES = ("damaged", "missing_item", "wrong_item", "not_as_described", "not_delivered")
REASONS = ("asked", "risk", "appeal", "complaint", "fallback")
MISUNDERSTOOD = [f"看不懂的话{n}" for n in range(300)]
SECRET = "ops-bench-secret"


def stamp(dialect: str, at: datetime) -> str:
    """A UTC time as each database's driver would store it (SQLite: SQLAlchemy's naive text)."""
    if dialect == "sqlite":
        return at.strftime("%Y-%m-%d %H:%M:%S.%f")
    return at.strftime("%Y-%m-%d %H:%M:%S.%f+00")


def bulk(conn: Any, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" for _ in columns)
        conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        return
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    buffer.seek(0)
    with conn.connection.dbapi_connection.cursor() as cur:
        cur.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", buffer)


def fill(url: str, conversations: int, rng: random.Random, now: datetime) -> dict[str, int]:
    engine = create_engine(url, future=True)
    d = engine.dialect.name
    ts = lambda at: stamp(d, at)  # noqa: E731
    skus = [(f"SKU{n:05d}", f"M{n % 200:03d}", 500 + 37 * n % 20000) for n in range(2000)]
    shoppers = max(conversations // 5, 1)
    counts = dict.fromkeys(("messages", "handoffs", "refunds", "coupons", "hits"), 0)
    with engine.begin() as conn:
        bulk(conn, "shoppers", ("id", "name", "created_at"), [(f"bs{n}", f"买家{n}", ts(now - timedelta(days=400)))
                                                                for n in range(shoppers)])
        bulk(conn, "orders", ("order_id", "shopper_id", "placed_at", "status"),
             [(f"BO{n}", f"bs{n}", ts(now - timedelta(days=40)), "delivered") for n in range(shoppers)])
        lines = []
        for n in range(shoppers):
            for k in range(3):
                sku, merchant, price = skus[rng.randrange(len(skus))]
                lines.append((f"BO{n}-{k}", f"BO{n}", sku, merchant, f"商品{sku}", price, 5, 0, 0))
        bulk(conn, "order_lines", ("line_id", "order_id", "sku", "merchant_id", "name", "unit_price_cents",
                                   "quantity", "remedied_quantity", "refunded_cents"), lines)
        items = [(n + 1, uuid.uuid4().hex, t, "open", 0, ts(now - timedelta(days=30)), ts(now))
                 for n, t in enumerate(MISUNDERSTOOD)]
        bulk(conn, "nlu_inbox_items", ("id", "text_key", "text", "status", "hits", "first_seen", "last_seen"), items)
        for chunk in _chunks(range(conversations), 20_000):
            rows: dict[str, list[tuple[Any, ...]]] = {k: [] for k in ("c", "m", "h", "r", "k", "i")}
            for i in chunk:
                _conversation(i, rng, now, ts, shoppers, rows)
            bulk(conn, "conversations", ("id", "shopper_id", "order_id", "holder", "last_seq", "created_at",
                                         "updated_at"), rows["c"])
            bulk(conn, "messages", ("conversation_id", "seq", "sender", "text", "buttons", "bot_pending", "nlu",
                                    "created_at"), rows["m"])
            bulk(conn, "handoffs", ("id", "conversation_id", "reason", "status", "created_at"), rows["h"])
            bulk(conn, "refunds", ("id", "idempotency_key", "request_hash", "shopper_id", "order_id", "line_id",
                                   "quantity", "amount_cents", "case_type", "state", "risk_score", "risk_reasons",
                                   "conversation_id", "decided_by", "created_at", "updated_at", "settled_at"),
                 rows["r"])
            bulk(conn, "coupons", ("id", "idempotency_key", "request_hash", "code", "shopper_id", "order_id",
                                   "line_id", "quantity", "value_cents", "expires_at", "conversation_id",
                                   "created_at"), rows["k"])
            bulk(conn, "nlu_inbox_hits", ("item_id", "conversation_id", "message_seq", "reason", "intent",
                                          "confidence", "ranking", "created_at"), rows["i"])
            for key, name in (("m", "messages"), ("h", "handoffs"), ("r", "refunds"), ("k", "coupons"), ("i", "hits")):
                counts[name] += len(rows[key])
    if d == "postgresql":  # what autovacuum does soon after a load this size (index-only scans need the vacuum)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return counts


def _chunks(items: range, size: int) -> Iterator[range]:
    for start in range(items.start, items.stop, size):
        yield range(start, min(start + size, items.stop))


def _conversation(i: int, rng: random.Random, now: datetime, ts: Any, shoppers: int,
                  rows: dict[str, list[tuple[Any, ...]]]) -> None:
    cid, shopper = f"bc{i:07d}", rng.randrange(shoppers)
    start = now - timedelta(seconds=rng.uniform(60, 30 * 86400))
    at = lambda s: ts(start + timedelta(seconds=s))  # noqa: E731
    rows["c"].append((cid, f"bs{shopper}", f"BO{shopper}", "bot", 5, at(0), at(300)))
    rows["m"].append((cid, 1, "bot", "您好，我是售后小助手", "[]", 0, None, at(0)))
    for seq, offset in ((2, 20), (4, 90)):
        fell = rng.random() < 0.05
        intent = "nlu_fallback" if fell else rng.choice(INTENTS)
        nlu = json.dumps({"intent": intent, "confidence": 0.3 if fell else 0.92, "ranking": [], "entities": []})
        rows["m"].append((cid, seq, "shopper", "有一支笔坏了", "[]", 0, nlu, at(offset)))
        rows["m"].append((cid, seq + 1, "bot", "好的", "[]", 0, None, at(offset + 1)))
        if fell:
            item = 1 + min(int(rng.expovariate(0.05)), len(MISUNDERSTOOD) - 1)
            rows["i"].append((item, cid, seq, "fallback", "nlu_fallback", 0.3, "[]", at(offset)))
    handed = rng.random() < 0.2
    if handed:
        rows["h"].append((uuid.uuid4().hex, cid, rng.choice(REASONS), "released", at(120)))
    roll = rng.random()
    line = f"BO{shopper}-{rng.randrange(3)}"
    if roll < 0.4:
        rid = uuid.uuid4().hex
        created = 150.0
        settled = created + (rng.uniform(600, 8 * 3600) if handed else 0.5)
        state = rng.choice(("settled", "settled", "settled", "needs_review", "rejected")) if handed else "settled"
        decided = ("agent7" if handed else "system") if state != "needs_review" else None
        rows["r"].append((rid, rid, "bench", f"bs{shopper}", f"BO{shopper}", line, 1, rng.randrange(300, 20000),
                          rng.choice(CASES), state, rng.randrange(0, 60), "[]", cid, decided, at(created),
                          at(settled), at(settled) if state == "settled" else None))
    elif roll < 0.5:
        kid = uuid.uuid4().hex
        rows["k"].append((kid, kid, "bench", kid[:16], f"bs{shopper}", f"BO{shopper}", line, 1,
                          rng.randrange(500, 30000), at(30 * 86400), cid, at(140)))



def _serve(name: str, env: dict[str, str], logs: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    argv, extra = command(name, port=port)
    log = open(logs / f"{name}.log", "wb")  # noqa: SIM115  (closed with the process)
    proc = subprocess.Popen([*argv, "--log-level", "warning"], cwd=ROOT, env={**os.environ, **env, **extra},
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/{'healthz' if name == 'gateway' else 'health'}", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{name} did not start: see {logs / f'{name}.log'}")


def timed(client: httpx.Client, url: str, calls: int, **params: str) -> tuple[float, float]:
    for _ in range(2):
        client.get(url, params=params).raise_for_status()
    took = []
    for _ in range(calls):
        started = time.perf_counter()
        client.get(url, params=params).raise_for_status()
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took), statistics.quantiles(took, n=20)[-1]


def measure(url: str, args: argparse.Namespace, rng: random.Random) -> None:
    now = datetime.now(timezone.utc)
    upgrade_to_head(url)
    started = time.monotonic()
    counts = fill(url, args.conversations, rng, now)
    kind = url.split(":")[0]
    print(f"{kind}: {args.conversations:,} conversations, " + ", ".join(f"{n:,} {k}" for k, n in counts.items())
          + f" filled in {time.monotonic() - started:.0f} s")
    logs = Path(tempfile.mkdtemp(prefix="ops-bench-logs-"))
    env = {"DATABASE_URL": url, "BOT_SECRET": SECRET, "REDIS_URL": args.redis,
           "BOT_VAR_DIR": str(logs / "var"), "RASA_URL": f"http://127.0.0.1:{free_port()}"}
    refunds, refunds_url = _serve("refunds", env, logs)
    gateway, gateway_url = None, ""
    try:
        gateway, gateway_url = _serve("gateway", {**env, "REFUNDS_URL": refunds_url}, logs)
        os.environ["BOT_SECRET"] = SECRET
        from bot.settings import get_settings

        get_settings.cache_clear()
        ops = {"Authorization": f"Bearer {mint('ops', 'bench')}"}
        service = {"Authorization": f"Bearer {mint('service', 'bench')}"}
        with httpx.Client(headers=ops, timeout=60) as client:
            for period in ("24h", "7d", "30d"):
                p50, p95 = timed(client, f"{gateway_url}/api/ops/summary", args.calls, period=period)
                body = client.get(f"{gateway_url}/api/ops/summary", params={"period": period}).json()
                print(f"  GET /api/ops/summary?period={period:<4} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms"
                      f"  ({body['conversations']['started']:,} conversations,"
                      f" {body['time_to_money']['all']['count']:,} with money)")
        with httpx.Client(headers=service, timeout=60) as client:
            since = (now - timedelta(days=30)).isoformat()
            p50, p95 = timed(client, f"{refunds_url}/stats/period", args.calls, since=since, until=now.isoformat())
            print(f"  refund service GET /stats/period (30 d) p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")
            p50, p95 = timed(client, f"{refunds_url}/alerts", args.calls)
            print(f"  refund service GET /alerts           p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")
    finally:
        for proc in (gateway, refunds):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL at 127.0.0.1:5432")
    parser.add_argument("--redis", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5"))
    args = parser.parse_args(argv)
    rng = random.Random(20261205)
    measure(f"sqlite:///{Path(tempfile.mkdtemp(prefix='ops-bench-')) / 'bench.sqlite3'}", args, rng)
    if args.postgres:
        admin = create_engine("postgresql://postgres@127.0.0.1:5432/postgres", future=True,
                              isolation_level="AUTOCOMMIT")
        name = f"ops_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            measure(f"postgresql://postgres@127.0.0.1:5432/{name}", args, rng)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
