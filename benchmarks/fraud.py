"""Fraud benchmark: a simulated population through the refund service's API, and how well reused photos are caught.

Two parts, each printed, with a plot in results/fraud.png:

1. Photo matching (`--products`, default 100): synthetic product photos (tests/evidence/products.py), three shots
   of each product taken apart (own background, framing, tilt, light, noise); the first shot edited as a 职业退货
   would (crop, resize, re-compression, a turn of 2-5°, brightness, a screenshot in a chat app). Every picture goes
   through the upload pipeline (`store_photo`), and a copy counts as caught when the index keys of the evidence store
   select the original and `near_duplicates` confirms it, exactly what a refund's risk score asks. Per edit: the catch
   rate; and the false-match rate over pairs of distinct shots of the same product.

2. Population (`--shoppers`, default 1,000, over 90 days; benchmarks/fraud_population.py): the real refund service
   (uvicorn, as tests/refunds start it) on a fresh SQLite database; orders through its order feed, refunds through
   POST /refunds, photos through the evidence store's `store_photo` into the same database and photo folder (the
   gateway's path without the chat). Time: the service always runs on the real clock; the benchmark moves the
   database's past instead, shifting every stored time one day back between simulated days (and backdating an
   account's opening), so the service needs no way to be told another time. Reported: recall (fraud cases sent to
   review), false alarms (honest cases delayed), money auto-settled to fraud, per pattern.

   With --fit, the risk signals of every case (`bot.refunds.risk.measure`, on the same database the moment before the
   refund is requested) are kept, and the policy's risk thresholds and points are chosen on them
   (benchmarks/fraud_fit.py); --write puts them in data/policy.yml. Report the result on another seed.

    .venv/bin/python -m benchmarks.fraud [--seed 2] [--shoppers 1000] [--products 100] [--fit [--write]]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.orm import Session

from benchmarks import fraud_fit
from benchmarks.fraud_population import DAYS, Photo, Shopper, plan
from bot.settings import ROOT, get_settings
from tests.e2e.stack import free_port
from tests.evidence import products

EDIT_NAMES = tuple(products.EDITS)


@lru_cache(maxsize=4096)
def _shot_bytes(product: int, shot: str) -> bytes:
    return products.jpeg(products.shot(product, shot))


def photo_bytes(photo: Photo) -> bytes:
    data = _shot_bytes(photo.product, photo.shot)
    return data if photo.edit is None else products.edited(data, photo.edit, photo.edit_seed)


def _store(session: Session, data: bytes, shopper_id: str, kind: str = "items") -> Any:
    from bot.evidence import store as evidence

    return evidence.store_photo(session, data=data, kind=kind, shopper_id=shopper_id, conversation_id="bench")


def _index_selects(keys: Any, original: Any) -> bool:
    """Whether the band lookup of `risk.reused_photo_ids` would bring `original` in as a candidate for `keys`."""
    from bot.evidence import store as evidence

    if any(b in k for b, k in zip(evidence.hash_bands(original.phash), keys.full, strict=True)):
        return True
    centre = original.centre_hash
    return centre is not None and any(b in k for b, k in zip(evidence.hash_bands(centre), keys.centre, strict=True))


def photo_table(session: Session, n_products: int) -> dict[str, float]:
    """Catch rate per edit and false-match rate on distinct shots of one product, through the evidence store."""
    from bot.evidence import store as evidence

    def same(copy: Any, original: Any) -> bool:
        keys = evidence.near_duplicate_keys([copy])
        return _index_selects(keys, original) and bool(
            evidence.near_duplicates([copy], [(original.id, original.phash, original.centre_hash)]))

    caught: Counter[str] = Counter()
    false = pairs = 0
    for product in range(n_products):
        shots = [_store(session, _shot_bytes(10_000 + product, f"s{i}"), "bench") for i in range(3)]
        for a, b in ((0, 1), (0, 2), (1, 2)):
            pairs += 1
            false += same(shots[b], shots[a]) or same(shots[a], shots[b])
        for edit in EDIT_NAMES:
            copy = _store(session, products.edited(_shot_bytes(10_000 + product, "s0"), edit, product), "bench")
            caught[edit] += same(copy, shots[0])
        session.rollback()  # nothing kept: the next product starts clean
    table = {edit: caught[edit] / n_products for edit in EDIT_NAMES}
    table["false_match"] = false / pairs
    return table



@dataclass
class Case:
    pattern: str
    fraud: bool
    amount_cents: int
    state: str
    signals: Any = None


SHIFTS = (("shoppers", ("created_at",)), ("orders", ("placed_at",)), ("photos", ("created_at",)),
          ("refunds", ("created_at", "updated_at", "settled_at")), ("refund_events", ("created_at",)),
          ("notifications", ("created_at",)))


def _shift(session: Session, days: float) -> None:
    """Everything stored moves `days` into the past: the service's `now` is then `days` later in the story."""
    for table, columns in SHIFTS:
        sets = ", ".join(f"{c} = datetime({c}, '-{days * 86400:.0f} seconds')" for c in columns)
        session.execute(text(f"UPDATE {table} SET {sets}"))
    session.commit()


class Simulation:
    def __init__(self, workdir: Path, measure: bool) -> None:
        from bot.db import make_engine
        from bot.launch import command
        from bot.migrate import upgrade_to_head
        from bot.tokens import mint

        self.url = f"sqlite:///{workdir / 'fraud.sqlite3'}"
        upgrade_to_head(self.url)
        self.engine = make_engine(self.url)
        self.measure = measure
        port = free_port()
        env = {**os.environ, "DATABASE_URL": self.url, "BOT_SECRET": get_settings().secret}
        argv = [*command("refunds", port=port)[0], "--log-level", "warning"]
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                                 headers={"Authorization": f"Bearer {mint('service', 'fraud-bench')}"})
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.http.get("/health").status_code == 200:
                    break
            except httpx.HTTPError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the refund service did not start") from None
            time.sleep(0.1)

    def close(self) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.engine.dispose()

    def _order(self, shopper: Shopper, order: Any, placed_days_ago: float = 0) -> None:
        from bot.refunds.models import utcnow

        body: dict[str, Any] = {"order_id": order.order_id, "shopper_id": shopper.shopper_id, "lines": [
            {"line_id": f"{order.order_id}-1", "sku": f"SKU{order.product}", "name": f"商品{order.product}",
             "unit_price_cents": order.price_cents, "quantity": 1}]}
        if placed_days_ago:
            body["placed_at"] = (utcnow() - timedelta(days=placed_days_ago)).isoformat()
        self.http.post("/orders", json=body).raise_for_status()

    def run(self, people: list[Shopper]) -> list[Case]:
        from bot.refunds import risk
        from bot.refunds.models import Shopper as ShopperRow
        from bot.refunds.models import utcnow

        with Session(self.engine) as session:
            for s in people:  # accounts opened before the story: their history, then the opening backdated
                for o in (o for o in s.orders if o.day < 0):
                    self._order(s, o, placed_days_ago=-o.day)
                if s.signup_day < 0 and s.orders:
                    session.execute(text("UPDATE shoppers SET created_at = :at WHERE id = :id"), {
                        "at": (utcnow() + timedelta(days=s.signup_day)).replace(tzinfo=None), "id": s.shopper_id})
                    session.commit()  # SQLite: the service writes next
            orders = defaultdict(list)
            claims = defaultdict(list)
            for s in people:
                for o in s.orders:
                    if o.day >= 0:
                        orders[o.day].append((s, o))
                for c in s.claims:
                    claims[c.day].append((s, c))
            cases: list[Case] = []
            for day in range(max(claims) + 1 if claims else DAYS):
                if day:
                    _shift(session, 1)
                for s, o in orders[day]:
                    self._order(s, o)
                for s, c in claims[day]:
                    cases.append(self._claim(session, s, c, risk, ShopperRow, utcnow))
            return cases

    def _claim(self, session: Session, s: Shopper, c: Any, risk: Any, shopper_row: Any, utcnow: Any) -> Case:
        stored = [_store(session, photo_bytes(p), s.shopper_id, kind) for kind, p in c.photos.items()]
        session.commit()
        order = next(o for o in s.orders if o.order_id == c.order)
        signals = None
        if self.measure:
            signals = risk.measure(session, shopper=session.get(shopper_row, s.shopper_id),
                                   amount_cents=order.price_cents, case_type="damaged", photos=stored, now=utcnow())
            session.rollback()
        body = {"shopper_id": s.shopper_id, "order_id": c.order, "line_id": f"{c.order}-1", "quantity": 1,
                "case_type": "damaged", "photo_ids": [p.id for p in stored], "conversation_id": "bench"}
        answer = self.http.post("/refunds", json=body, headers={"Idempotency-Key": f"k-{c.order}"})
        answer.raise_for_status()
        return Case(c.pattern, c.fraud, order.price_cents, answer.json()["state"], signals)


def report(cases: list[Case], title: str) -> dict[str, float]:
    fraud = [c for c in cases if c.fraud]
    honest = [c for c in cases if not c.fraud]
    figures = {
        "recall": sum(c.state != "settled" for c in fraud) / max(1, len(fraud)),
        "false_alarm": sum(c.state != "settled" for c in honest) / max(1, len(honest)),
        "fraud_auto_yuan": sum(c.amount_cents for c in fraud if c.state == "settled") / 100,
        "fraud_total_yuan": sum(c.amount_cents for c in fraud) / 100,
    }
    print(f"{title}: {len(fraud)} fraud cases, {len(honest)} honest cases")
    print(f"  recall (fraud sent to review) {figures['recall']:.1%}; honest cases delayed {figures['false_alarm']:.1%};"
          f" auto-settled to fraud ¥{figures['fraud_auto_yuan']:.2f} of ¥{figures['fraud_total_yuan']:.2f} claimed")
    for pattern in sorted({c.pattern for c in cases}):
        group = [c for c in cases if c.pattern == pattern]
        print(f"    {pattern:9s} {len(group):4d} cases, sent to review {sum(c.state != 'settled' for c in group)}")
    return figures


def plot(path: Path, photos: dict[str, float] | None, figures: dict[str, float] | None, caption: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    if photos:
        names = list(photos)
        axes[0].bar(names, [photos[n] * 100 for n in names], color=["tab:blue"] * (len(names) - 1) + ["tab:red"])
        axes[0].axhline(95, ls="--", c="grey")
        axes[0].set_title("photo copies caught (%) / false matches (red)")
        axes[0].tick_params(axis="x", rotation=30)
    if figures:
        axes[1].bar(["fraud to review", "honest delayed"], [figures["recall"] * 100, figures["false_alarm"] * 100],
                    color=["tab:green", "tab:orange"])
        axes[1].axhline(90, ls="--", c="green")
        axes[1].axhline(5, ls="--", c="orange")
        axes[1].set_title(f"refund decisions (%), auto-settled to fraud ¥{figures['fraud_auto_yuan']:.0f}")
    fig.suptitle(caption)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    print(f"plot: {path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--shoppers", type=int, default=1000)
    parser.add_argument("--products", type=int, default=100, help="products of the photo table (0: skip it)")
    parser.add_argument("--fit", action="store_true", help="choose the risk section's numbers on this seed")
    parser.add_argument("--write", action="store_true", help="with --fit: write them to data/policy.yml")
    parser.add_argument("--plot", type=Path, default=ROOT / "results" / "fraud.png")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="fraud-"))
    os.environ["BOT_VAR_DIR"] = str(workdir / "var")  # photos: shared by this process and the service
    get_settings.cache_clear()
    random.seed(args.seed)
    photos = figures = None
    try:
        if args.products:
            from bot.db import make_engine
            from bot.migrate import upgrade_to_head

            url = f"sqlite:///{workdir / 'photos.sqlite3'}"
            upgrade_to_head(url)
            engine = make_engine(url)
            with Session(engine) as session:
                photos = photo_table(session, args.products)
            engine.dispose()
            print(f"photo matching, {args.products} products (3 shots each, one edited copy per edit):")
            for name, rate in photos.items():
                label = "false matches, distinct shots of one product" if name == "false_match" else f"{name} caught"
                print(f"  {label:45s} {rate:.1%}")
        if args.shoppers:
            sim = Simulation(workdir, measure=args.fit)
            try:
                started = time.monotonic()
                cases = sim.run(plan(args.seed, args.shoppers))
            finally:
                sim.close()
            print(f"population: seed {args.seed}, {args.shoppers} shoppers over {DAYS} days,"
                  f" {len(cases)} refund requests in {time.monotonic() - started:.0f} s")
            figures = report(cases, "as the service decided (data/policy.yml as it is)")
            if args.fit:
                fraud_fit.fit_and_report(cases, write_policy=args.write)
        plot(args.plot, photos, figures, f"seed {args.seed}, {args.shoppers} shoppers, {args.products} products")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
