"""Open-loop load through the public gateway API against the real stack: where answers start to take too long.

Starts the real processes (Redis, refund service, action server, Rasa, gateway; as the end-to-end tests do, on
SQLite unless --database-url names PostgreSQL), creates shoppers and their orders through the refund service's
order feed, then offers fixed rates of gateway calls, one after another. At each rate new shoppers arrive on a
fixed schedule (not when the last one finished: open loop) and each plays the pen case: open the conversation
on their order, 「有一支笔坏了」, the photos the bot asks for, then the coupon (6 calls), thinking --think seconds
between an answer and their next call. Per rate it prints the calls per second achieved, p50/p95/p99 latency,
errors by status, and the CPU seconds each process spent per call; then the knee, the highest rate with p95 ≤
300 ms and no errors. A plot of latency against rate goes to results/load.png.

    .venv/bin/python -m benchmarks.load [--rates 2,5,10,20] [--seconds 60] [--think 4]
                                        [--database-url postgresql://...] [--rasa-workers 1,2]

With --rasa-workers 1,2 the whole series runs once per number of Rasa workers, in the same run, and the knees are
compared (with each run's CPU left idle on the machine).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import statistics
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from actions.messages import PHOTO_LABELS
from bot.rasa_protocol import PHOTO_KINDS
from bot.settings import ROOT
from tests.e2e.stack import Stack

CALLS_PER_SHOPPER = 6  # open, the problem, three photos, the coupon
KNEE_P95 = 0.300
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def photo(seed: int) -> bytes:
    """A JPEG of its own for every seed, so no photo looks reused to the risk rules."""
    rng = random.Random(seed)
    img = Image.new("RGB", (32, 32))
    img.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(32 * 32)])
    buf = io.BytesIO()
    img.resize((480, 360), Image.Resampling.NEAREST).save(buf, "JPEG", quality=85)
    return buf.getvalue()


@dataclass
class Call:
    step: str
    started: float
    seconds: float
    status: int  # 0: no answer (connection error or timeout)


@dataclass
class Shopper:
    shopper_id: str
    order_id: str
    token: str
    photos: dict[str, bytes]
    calls: list[Call] = field(default_factory=list)
    outcome: str = "unfinished"


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process and its threads (children it waited for included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return sum(int(v) for v in fields[11:15]) / CLOCK_TICKS


async def create_shoppers(stack: Stack, count: int, client: httpx.AsyncClient) -> list[Shopper]:
    headers = {"Authorization": f"Bearer {stack.service_token()}"}
    shoppers = []
    for i in range(count):
        sid, oid = f"ld{uuid.uuid4().hex[:10]}", f"L{uuid.uuid4().hex[:10].upper()}"
        body = {"order_id": oid, "shopper_id": sid, "shopper_name": f"压测{i}",
                "lines": [{"sku": "PEN-05", "name": "晨光中性笔 0.5mm 黑色", "unit_price_cents": 350, "quantity": 12}]}
        resp = await client.post(f"{stack.url('refunds')}/orders", json=body, headers=headers)
        resp.raise_for_status()
        shoppers.append(Shopper(sid, oid, stack.token("shopper", sid),
                                {kind: photo(hash((sid, kind)) & 0xFFFFFFF) for kind in PHOTO_KINDS}))
    return shoppers


async def play(stack: Stack, shopper: Shopper, client: httpx.AsyncClient, think: float) -> None:
    """The pen case, adapting to what the bot asks (a button to click, which photo it wants)."""
    gateway = stack.url("gateway")
    headers = {"Authorization": f"Bearer {shopper.token}"}

    async def call(step: str, path: str, **kwargs: Any) -> dict[str, Any] | None:
        started = time.monotonic()
        try:
            resp = await client.post(gateway + path, headers=headers, **kwargs)
            status = resp.status_code
        except httpx.HTTPError:
            status = 0
        shopper.calls.append(Call(step, started, time.monotonic() - started, status))
        return resp.json() if status in (200, 201) else None

    opened = await call("open", "/api/conversations", json={"order_id": shopper.order_id})
    if opened is None:
        shopper.outcome = "error"
        return
    conversation = opened["conversation_id"]
    answer: list[dict[str, Any]] | None = opened["messages"]
    sent: set[str] = set()
    steps = [("problem", {"json": {"text": "有一支笔坏了"}})]
    for _ in range(8):
        await asyncio.sleep(think)
        if steps:
            step, kwargs = steps.pop(0)
            answer = _bot(await call(step, f"/api/conversations/{conversation}/messages", **kwargs))
        else:
            buttons = [b for m in answer or [] for b in m.get("buttons") or []]
            text = " ".join(m.get("text") or "" for m in answer or [])
            coupon = next((b for b in buttons if b["payload"] == "/choose_coupon"), None)
            wanted = [k for k in PHOTO_KINDS if PHOTO_LABELS[k] in text and k not in sent]
            if coupon:
                answer = _bot(await call("coupon", f"/api/conversations/{conversation}/messages",
                                         json={"button": coupon["payload"]}))
                shopper.outcome = "coupon" if answer is not None else "error"
                return
            if wanted or (len(sent) < len(PHOTO_KINDS) and not buttons):
                kind = (wanted or [k for k in PHOTO_KINDS if k not in sent])[0]
                sent.add(kind)
                answer = _bot(await call("photo", f"/api/conversations/{conversation}/photos", data={"kind": kind},
                                         files={"file": (f"{kind}.jpg", shopper.photos[kind], "image/jpeg")}))
            elif buttons:
                answer = _bot(await call("button", f"/api/conversations/{conversation}/messages",
                                         json={"button": buttons[0]["payload"]}))
            else:
                shopper.outcome = "stuck"
                return
        if answer is None:
            shopper.outcome = "error"
            return


def _bot(body: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """The bot's messages of an answer (None for a failed call)."""
    return None if body is None else [m for m in body["messages"] if m["sender"] != "shopper"]


@dataclass
class RateResult:
    offered: float
    achieved: float
    p50: float
    p95: float
    p99: float
    errors: Counter[int]
    calls: int
    outcomes: Counter[str]
    cpu_per_call: dict[str, float]
    cpu_idle: float  # the machine's CPU left idle during the rate (all cores, whatever else runs)


async def run_rate(stack: Stack, rate: float, seconds: float, think: float) -> RateResult:
    arrivals = max(1, round(rate * seconds / CALLS_PER_SHOPPER))
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        shoppers = await create_shoppers(stack, arrivals, client)
        cpu_before = {name: cpu_seconds(proc.pid) for name, proc in stack.procs.items()}
        idle_before = machine_idle()
        started = time.monotonic()
        gap = CALLS_PER_SHOPPER / rate
        tasks = []
        for i, shopper in enumerate(shoppers):
            delay = started + i * gap - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(play(stack, shopper, client, think)))
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started
        cpu_after = {name: cpu_seconds(proc.pid) for name, proc in stack.procs.items()}
        idle = (machine_idle() - idle_before) / (elapsed * (os.cpu_count() or 1))
    calls = [c for s in shoppers for c in s.calls]
    ok = sorted(c.seconds for c in calls if c.status in (200, 201))
    q = statistics.quantiles(ok, n=100) if len(ok) >= 2 else [float("nan")] * 99
    return RateResult(
        offered=rate,
        achieved=len(calls) / elapsed,
        p50=statistics.median(ok) if ok else float("nan"),
        p95=q[94],
        p99=q[98],
        errors=Counter(c.status for c in calls if c.status not in (200, 201)),
        calls=len(calls),
        outcomes=Counter(s.outcome for s in shoppers),
        cpu_per_call=per_role({name: (cpu_after[name] - cpu_before[name]) / max(1, len(calls)) for name in cpu_after}),
        cpu_idle=idle,
    )


def per_role(cpu: dict[str, float]) -> dict[str, float]:
    """CPU per call by role: the Rasa workers (rasa, rasa2, ...) added up as `rasa`."""
    roles: dict[str, float] = {}
    for name, seconds in cpu.items():
        role = "rasa" if name.startswith("rasa") else name
        roles[role] = roles.get(role, 0.0) + seconds
    return roles


def machine_idle() -> float:
    """Idle CPU seconds of the whole machine since boot (/proc/stat: idle + iowait)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return (int(fields[3]) + int(fields[4])) / CLOCK_TICKS


def plot(series: dict[int, list[RateResult]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for workers, results in series.items():
        rates = [r.achieved for r in results]
        for label, values in (("p50", [r.p50 for r in results]), ("p95", [r.p95 for r in results])):
            ax.plot(rates, [v * 1000 for v in values], marker="o", label=f"{label}, {workers} Rasa worker(s)")
    ax.axhline(KNEE_P95 * 1000, color="grey", linestyle="--", linewidth=1, label="300 ms")
    ax.set_xlabel("gateway calls per second (achieved)")
    ax.set_ylabel("latency (ms)")
    ax.set_yscale("log")
    ax.set_title("Whole stack on one machine: latency against load")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="2,5,10,20", help="offered gateway calls per second, comma separated")
    parser.add_argument("--seconds", type=float, default=60, help="how long new shoppers arrive at each rate")
    parser.add_argument("--think", type=float, default=4, help="seconds a shopper waits after each answer")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    parser.add_argument("--rasa-workers", default="1", help="Rasa worker counts to compare, comma separated")
    parser.add_argument("--plot", type=Path, default=ROOT / "results" / "load.png")
    args = parser.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",")]
    series: dict[int, list[RateResult]] = {}
    for workers in (int(w) for w in args.rasa_workers.split(",")):
        series[workers] = run_series(rates, args, workers)
    print("\nknee (p95 ≤ %.0f ms, no errors):" % (KNEE_P95 * 1000))
    for workers, results in series.items():
        knee = [r for r in results if r.p95 <= KNEE_P95 and not r.errors]
        best = max(knee, key=lambda r: r.offered) if knee else None
        print(f"  {workers} Rasa worker(s): " + (f"{best.achieved:.1f} calls/s, CPU left "
              f"{best.cpu_idle:.0%} of {os.cpu_count()} cores" if best else "below the lowest rate"))
    plot(series, args.plot)
    print(f"plot: {args.plot}")


def run_series(rates: list[float], args: argparse.Namespace, workers: int) -> list[RateResult]:
    workdir = Path(tempfile.mkdtemp(prefix="load-"))
    stack = Stack(workdir=workdir, database_url=args.database_url or f"sqlite:///{workdir / 'load.sqlite3'}",
                  rasa_workers=workers)
    print(f"\nstarting the stack with {workers} Rasa worker(s) in {workdir} ({stack.database_url.split(':')[0]}) ...",
          flush=True)
    stack.start()
    results = []
    try:
        print(f"{'offered':>7s} {'achieved':>8s} {'p50 ms':>7s} {'p95 ms':>7s} {'p99 ms':>7s}  errors   outcomes"
              "   CPU ms per call (gateway / rasa / actions / refunds / redis)   CPU idle")
        for rate in rates:
            r = asyncio.run(run_rate(stack, rate, args.seconds, args.think))
            results.append(r)
            cpu = " / ".join(f"{r.cpu_per_call.get(n, 0) * 1000:.0f}"
                             for n in ("gateway", "rasa", "actions", "refunds", "redis"))
            print(f"{r.offered:7.1f} {r.achieved:8.1f} {r.p50 * 1000:7.0f} {r.p95 * 1000:7.0f} {r.p99 * 1000:7.0f}  "
                  f"{dict(r.errors) or '-'}   {dict(r.outcomes)}   {cpu}   {r.cpu_idle:.0%}", flush=True)
    finally:
        stack.stop()
        print(f"process logs: {workdir / 'logs'}")
    return results


if __name__ == "__main__":
    main()
