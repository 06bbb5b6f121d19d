"""Photo-reuse lookup with many attached photos: the hash-band indexes against the linear scan they replaced.

Fills refund_photos of a fresh, migrated database with N random perceptual hashes (default 1,000,000; foreign keys
are switched off for the fill only, as the rows stand for photos of other refunds), plants near copies of a few
query photos, then times `bot.refunds.risk.reused_photo_ids` (what every refund's risk score calls) for a refund's
three photos: through the indexes (the code as it is) and, a few times, the linear scan (read every attached hash,
compare each). Checks that both give the same answer. Prints p50/p95 per lookup.

    .venv/bin/python -m benchmarks.photo_reuse [--rows 1000000] [--postgres]

Random hashes spread evenly over the bands; real photo hashes cluster more, which makes band buckets fuller, so
the figure for a real table is somewhat higher (still a few hundred candidates rather than every row).
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from bot.db import make_engine
from bot.evidence import store as evidence
from bot.evidence.phash import bands, hamming
from bot.migrate import upgrade_to_head
from bot.policy import load_policy
from bot.rasa_protocol import PHOTO_KINDS
from bot.refunds import risk, service
from bot.refunds.models import RefundPhoto
from bot.refunds.orders import create_order
from bot.refunds.schemas import OrderIn, RefundIn
from bot.refunds.seed import seed

MAX_DISTANCE = int(load_policy()["risk"]["photo_hash_max_distance"])
QUERIES = 200
INSERT = text("INSERT INTO refund_photos (refund_id, photo_id, phash, band0, band1, band2)"
              " VALUES (:r, :p, :h, :b0, :b1, :b2)")
LINEAR_RUNS = 3


def fill(engine_url: str, rows: int, rng: random.Random) -> None:
    """N attached photos with random hashes, in batches (COPY on PostgreSQL)."""
    engine = create_engine(engine_url, future=True)
    batch = 100_000
    with engine.begin() as conn:
        _without_foreign_keys(conn)
        for start in range(0, rows, batch):
            chunk = []
            for i in range(start, min(rows, start + batch)):
                phash = f"{rng.getrandbits(64):016x}"
                chunk.append((f"rf{i:010d}", f"{i:032x}", phash, *bands(phash)))
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql(
                    "INSERT INTO refund_photos (refund_id, photo_id, phash, band0, band1, band2)"
                    " VALUES (?, ?, ?, ?, ?, ?)", chunk)
            else:
                buffer = io.StringIO("".join("\t".join(map(str, row)) + "\n" for row in chunk))
                raw = conn.connection.dbapi_connection
                with raw.cursor() as cur:
                    cur.copy_expert("COPY refund_photos (refund_id, photo_id, phash, band0, band1, band2)"
                                    " FROM STDIN", buffer)
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE refund_photos")
    engine.dispose()


def _without_foreign_keys(conn: Connection) -> None:
    """The rows stand for photos of other refunds that this benchmark does not create."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # before the first write: SQLite ignores it in a transaction
    else:
        conn.exec_driver_sql("SET session_replication_role = replica")  # no foreign-key triggers


def plant(engine_url: str, copies: list[tuple[str, str]]) -> None:
    engine = create_engine(engine_url, future=True)
    with engine.begin() as conn:
        _without_foreign_keys(conn)
        for photo_id, phash in copies:
            conn.execute(INSERT, {"r": f"rfp{photo_id[:12]}", "p": photo_id, "h": phash,
                                  **dict(zip(("b0", "b1", "b2"), bands(phash), strict=True))})
    engine.dispose()


def query_photos(rng: random.Random, plant: int) -> tuple[list[evidence.StoredPhoto], list[tuple[str, str]]]:
    """Three photos of a new refund, the first `plant` of which have a near copy to plant in the table."""
    now = datetime.now(timezone.utc)
    photos, copies = [], []
    for i in range(3):
        phash = f"{rng.getrandbits(64):016x}"
        photos.append(evidence.StoredPhoto(
            id=uuid.uuid4().hex, shopper_id="s", conversation_id="c", kind="items", content_type="image/jpeg",
            phash=phash, width=1, height=1, original_format="JPEG", original_bytes=1, created_at=now,
            filename="x.jpg"))
        if i < plant:
            flipped = int(phash, 16)
            for bit in rng.sample(range(64), MAX_DISTANCE):
                flipped ^= 1 << bit
            copies.append((uuid.uuid4().hex, f"{flipped:016x}"))
    return photos, copies


CREATIONS = 10
PHOTO_ROW = text(
    "INSERT INTO photos (id, shopper_id, conversation_id, kind, filename, content_type, phash, width, height,"
    " original_format, original_bytes, created_at) VALUES (:id, 's1', 'bench', :kind, :file, 'image/jpeg', :h,"
    " 640, 480, 'JPEG', 1000, :now)"
)


def time_refund_creation(url: str, rng: random.Random) -> float:
    """Median seconds of `service.create_refund` for one pen of a demo shopper's order, with three fresh photos
    (rows as the evidence store writes them): the whole creation, risk scoring with the reuse lookup included."""
    engine = make_engine(url)
    timings = []
    with Session(engine) as session:
        seed(session)
        order_id = f"B{uuid.uuid4().hex[:10]}"
        create_order(session, data=OrderIn(order_id=order_id, shopper_id="s1", lines=[
            {"line_id": f"{order_id}-1", "sku": "PEN", "name": "笔", "unit_price_cents": 350, "quantity": 100}]))
        session.commit()
        for _ in range(CREATIONS):
            ids = [uuid.uuid4().hex for _ in PHOTO_KINDS]
            for photo_id, kind in zip(ids, PHOTO_KINDS, strict=True):
                session.execute(PHOTO_ROW, {"id": photo_id, "kind": kind, "file": f"{photo_id}.jpg",
                                            "h": f"{rng.getrandbits(64):016x}", "now": datetime.now(timezone.utc)})
            session.commit()
            data = RefundIn(shopper_id="s1", order_id=order_id, line_id=f"{order_id}-1", quantity=1,
                            case_type="damaged", photo_ids=ids, conversation_id="bench")
            started = time.perf_counter()
            service.create_refund(session, idempotency_key=uuid.uuid4().hex, data=data)
            timings.append(time.perf_counter() - started)
    engine.dispose()
    return statistics.median(timings)


def linear(session: Session, photos: list[evidence.StoredPhoto]) -> list[str]:
    """The lookup as it was before the index: every attached hash read and compared."""
    attached = session.execute(select(RefundPhoto.photo_id, RefundPhoto.phash)).all()
    return [p.id for p in photos if any(pid != p.id and hamming(p.phash, ph) <= MAX_DISTANCE for pid, ph in attached)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL at 127.0.0.1:5432")
    args = parser.parse_args(argv)
    rng = random.Random(20261205)
    urls = [f"sqlite:///{Path(tempfile.mkdtemp(prefix='photo-reuse-')) / 'bench.sqlite3'}"]
    admin = None
    if args.postgres:
        admin = create_engine("postgresql://postgres@127.0.0.1:5432/postgres", future=True,
                              isolation_level="AUTOCOMMIT")
        name = f"photo_reuse_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        urls.append(f"postgresql://postgres@127.0.0.1:5432/{name}")
    try:
        for url in urls:
            upgrade_to_head(url)
            empty_creation = time_refund_creation(url, rng)
            started = time.monotonic()
            fill(url, args.rows, rng)
            print(f"{url.split(':')[0]}: {args.rows:,} attached photos filled in {time.monotonic() - started:.0f} s")
            engine = make_engine(url)
            with Session(engine) as session:
                planted = []
                for q in range(QUERIES):
                    photos, copies = query_photos(rng, plant=1 if q % 2 == 0 else 0)
                    planted.append((photos, copies))
                plant(url, [copy for _, copies in planted for copy in copies])
                timings, single, wrong = [], [], 0
                for photos, copies in planted:
                    t = time.perf_counter()
                    found = risk.reused_photo_ids(session, photos)
                    timings.append(time.perf_counter() - t)
                    wrong += found != [photos[0].id] * len(copies)
                    t = time.perf_counter()
                    wrong += risk.reused_photo_ids(session, photos[:1]) != [photos[0].id] * len(copies)
                    single.append(time.perf_counter() - t)
                    session.rollback()
                linear_timings = []
                for photos, _ in planted[:LINEAR_RUNS]:
                    t = time.perf_counter()
                    assert linear(session, photos) == risk.reused_photo_ids(session, photos)
                    linear_timings.append(time.perf_counter() - t)
                    session.rollback()
            engine.dispose()
            full_creation = time_refund_creation(url, rng)
            p50, p95 = statistics.median(timings), statistics.quantiles(timings, n=20)[-1]
            one50, one95 = statistics.median(single), statistics.quantiles(single, n=20)[-1]
            lin = statistics.median(linear_timings)
            print(f"  band index, one photo: p50 {one50 * 1000:.2f} ms, p95 {one95 * 1000:.2f} ms; a refund's three"
                  f" photos at once: p50 {p50 * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms ({QUERIES} lookups each, half"
                  f" with a planted copy {MAX_DISTANCE} bits away); wrong answers: {wrong}")
            print(f"  linear scan (three photos): median {lin * 1000:.0f} ms over {LINEAR_RUNS} lookups; the index is"
                  f" {lin / p50:.0f}x faster")
            print(f"  creating a refund (median of {CREATIONS}): {empty_creation * 1000:.1f} ms with no photo attached"
                  f" before, {full_creation * 1000:.1f} ms with {args.rows:,}")
    finally:
        shutil.rmtree(Path(urls[0].split(":///", 1)[1]).parent, ignore_errors=True)
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{urls[-1].rsplit("/", 1)[1]}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
