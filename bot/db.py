"""The SQL engine and sessions: SQLite under var/ by default, PostgreSQL when DATABASE_URL is set.

SQLite (WAL) has one writer at a time per database file. A writing transaction starts with BEGIN IMMEDIATE, so it
holds the write lock from its first statement and never fails half-way to upgrade a read; before that it takes this
process's write lock for the file (a FIFO-ish `threading.Lock`, released when the transaction commits or rolls
back), so the process's writers queue in Python and each starts the instant the last one ends, instead of sleeping in
SQLite's busy handler (1, 2, 5 ... 100 ms naps, in no order). Other processes on the same file (the gateway and the
refund service share the embedded default's) still meet in SQLite's busy handler. A reading transaction (`reading`:
a session or engine whose transactions only read) starts with a plain BEGIN: a WAL snapshot, which neither waits for
the writer nor holds it up. Both waits end after BOT_SQLITE_BUSY_SECONDS (10 s) with OperationalError
("database is locked"), which the apps answer with 503.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, declarative_base, sessionmaker

from bot.settings import get_settings

Base: Any = declarative_base()
READ_ONLY = "bot_read_only"  # execution option: this engine's (or connection's) transactions only read
_WRITE_LOCKS: dict[str, threading.Lock] = {}  # one per database file in this process
_WRITE_LOCKS_GUARD = threading.Lock()


def busy_seconds() -> float:
    """How long a SQLite writer waits for the write lock (this process's, then the file's) before giving up."""
    return float(os.environ.get("BOT_SQLITE_BUSY_SECONDS", "10"))


def _write_lock(database: str) -> threading.Lock:
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(os.path.abspath(database) if database else ":memory:", threading.Lock())


class _LockingConnection(sqlite3.Connection):
    """A pysqlite connection that lets go of this process's write lock when its transaction ends (after COMMIT or
    ROLLBACK has run, so the next writer never finds SQLite's lock still held), or when it is closed."""

    write_lock: threading.Lock | None = None

    def _release(self) -> None:
        lock, self.write_lock = self.write_lock, None
        if lock is not None:
            lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()


def make_engine(url: str) -> Engine:
    """Build an engine; SQLite gets WAL, foreign keys and BEGIN IMMEDIATE behind a process-wide write lock (above)."""
    if not url.startswith("sqlite"):
        return create_engine(url, future=True, pool_pre_ping=True)
    busy = busy_seconds()
    engine = create_engine(
        url, future=True,
        connect_args={"check_same_thread": False, "timeout": busy, "factory": _LockingConnection},
    )
    lock = _write_lock(engine.url.database or "")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event issue BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")  # a snapshot: no write lock, no waiting
            return
        dbapi_conn = conn.connection.dbapi_connection
        if not lock.acquire(timeout=busy):
            raise OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError(
                f"database is locked (waited {busy:g} s for this process's writers)"))
        dbapi_conn.write_lock = lock
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            dbapi_conn._release()
            raise

    return engine


def reading(engine: Engine) -> Engine:
    """The same engine (same pool) for transactions that only read: on SQLite they take no write lock (a plain BEGIN,
    a WAL snapshot). A write in one of them fails at once if another writer got in first: use it for reads only."""
    return engine.execution_options(**{READ_ONLY: True})


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@lru_cache(maxsize=1)
def _session_factory() -> sessionmaker:
    return sessionmaker(bind=get_engine(), future=True, expire_on_commit=False)


def new_session(*, read_only: bool = False) -> Session:
    if read_only:
        return _session_factory()(bind=reading(get_engine()))
    return _session_factory()()


@contextmanager
def session_scope(*, read_only: bool = False) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = new_session(read_only=read_only)
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()
