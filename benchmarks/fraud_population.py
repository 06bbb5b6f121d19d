"""The simulated population of benchmarks/fraud.py: who orders what on which day, and who claims, honestly or not.

Pure planning, seeded: no service, no database. Honest shoppers have old accounts, order now and then and report
real damage on a few orders, each with their own photos (three distinct shots: package, label, item). The 职业退货
patterns are those of issue 11:
- `reuse`: one set of photos, sent again on later claims after an edit (crop, resize, re-compression, a turn of a
  few degrees, brightness, a screenshot), on orders spread over the 90 days;
- `burst`: many claims over many orders in a few days, each with fresh photos;
- `new_high`: an account a few days old claiming on dear orders;
- `ring`: several accounts sending edited copies of one set of photos, one claim each.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tests.evidence.products import EDITS

DAYS = 90
PRODUCTS = 40
KINDS = ("package", "label", "items")


@dataclass
class Photo:
    """What a claim's photo shows: a shot (product, shot seed) of its own, or an edit of another claim's photo."""

    product: int
    shot: str
    edit: str | None = None
    edit_seed: str = ""


@dataclass
class Claim:
    day: int
    order: str
    photos: dict[str, Photo]
    fraud: bool
    pattern: str  # honest, reuse, burst, new_high, ring


@dataclass
class Order:
    order_id: str
    day: int  # negative: placed before the simulation starts
    product: int
    price_cents: int


@dataclass
class Shopper:
    shopper_id: str
    pattern: str
    signup_day: float  # day the account was opened (negative: before the simulation)
    orders: list[Order] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)


def prices(rng: random.Random) -> list[int]:
    """A catalogue: most things cost ¥3-¥48, one in thirty ¥60-¥300 (above the policy's auto limit: always reviewed)."""
    return [rng.randint(60, 300) * 100 if rng.random() < 0.033 else rng.randint(300, 4800) for _ in range(PRODUCTS)]


def _shots(product: int, seed: str) -> dict[str, Photo]:
    """Three photos of one's own: the parcel, its label and the item (each kind a look of its own)."""
    return {kind: Photo(product=product + 1000 * i, shot=seed) for i, kind in enumerate(KINDS)}


def _edited(source: dict[str, Photo], rng: random.Random) -> dict[str, Photo]:
    return {kind: Photo(photo.product, photo.shot, rng.choice(sorted(EDITS)), f"{rng.getrandbits(32)}")
            for kind, photo in source.items()}


def plan(seed: int, shoppers: int, fraud_share: float = 0.1) -> list[Shopper]:
    rng = random.Random(seed)
    catalogue = prices(rng)
    people: list[Shopper] = []
    n_fraud = round(shoppers * fraud_share)
    patterns = ["honest"] * (shoppers - n_fraud) + [rng.choice(("reuse", "reuse", "burst", "new_high", "ring"))
                                                    for _ in range(n_fraud)]
    ring_source: dict[str, Photo] | None = None
    ring_left = 0
    for i, pattern in enumerate(patterns):
        sid = f"u{seed}_{i:05d}"
        s = Shopper(sid, pattern, signup_day=-rng.uniform(30, 1500))
        orders = 0

        def order(day: int, product: int | None = None, dear: bool = False, s: Shopper = s) -> Order:
            nonlocal orders
            orders += 1
            p = rng.randrange(PRODUCTS) if product is None else product
            price = rng.randint(2500, 4900) if dear else catalogue[p]
            o = Order(f"{s.shopper_id}_o{orders}", day, p, price)
            s.orders.append(o)
            return o

        for _ in range(rng.randint(1, 6)):  # history before the 90 days
            order(-rng.randint(1, 300))
        if pattern == "honest":
            for day in sorted(rng.sample(range(DAYS), rng.randint(2, 10))):
                o = order(day)
                if rng.random() < 0.08 and day + 6 < DAYS:
                    s.claims.append(Claim(day + rng.randint(2, 6), o.order_id, _shots(o.product, sid + o.order_id),
                                          False, pattern))
        elif pattern == "reuse":
            days = sorted(rng.sample(range(DAYS - 5), rng.randint(3, 5)))
            source: dict[str, Photo] | None = None
            for day in days:
                o = order(day)
                photos = _shots(o.product, sid) if source is None else _edited(source, rng)
                source = source or photos
                s.claims.append(Claim(day + rng.randint(1, 4), o.order_id, photos, True, pattern))
        elif pattern == "burst":
            start = rng.randrange(DAYS - 14)
            for _ in range(rng.randint(4, 7)):
                o = order(start + rng.randint(0, 8))
                s.claims.append(Claim(start + rng.randint(9, 11), o.order_id, _shots(o.product, sid + o.order_id),
                                      True, pattern))
        elif pattern == "new_high":
            start = rng.randrange(DAYS - 5)
            s.orders.clear()  # a new account: no history
            s.signup_day = start
            for _ in range(rng.randint(1, 2)):
                o = order(start, dear=True)
                s.claims.append(Claim(start + rng.randint(0, 3), o.order_id, _shots(o.product, sid + o.order_id),
                                      True, pattern))
        else:  # ring: groups of 5-8 accounts share one set of photos
            if ring_left == 0 or ring_source is None:
                ring_source, ring_left = _shots(rng.randrange(PRODUCTS), f"ring{i}"), rng.randint(5, 8)
            ring_left -= 1
            if rng.random() < 0.5:
                s.orders.clear()
                s.signup_day = rng.randrange(DAYS - 8)
            day = max(0, int(s.signup_day)) + rng.randint(0, 4)
            o = order(day, product=ring_source["package"].product)
            s.claims.append(Claim(day + rng.randint(1, 3), o.order_id, _edited(ring_source, rng), True, pattern))
        people.append(s)
    return people
