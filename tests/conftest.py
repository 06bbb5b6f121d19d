"""Shared fixtures: a fresh migrated database per test on SQLite and, when reachable, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bot.db import make_engine
from bot.migrate import upgrade_to_head
from bot.settings import ROOT
from tests.e2e.stack import Stack

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _postgres_available() -> bool:
    try:
        eng = create_engine(POSTGRES_ADMIN_URL, future=True)
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
        return True
    except Exception:
        return False


POSTGRES = _postgres_available()
if os.environ.get("CI") and not POSTGRES:
    raise RuntimeError(f"CI needs PostgreSQL at {POSTGRES_ADMIN_URL}")


# Fixtures that need the trained model in models/: a test that uses one is marked needs_model, whether or not its
# module says so (tests/e2e and tests/trainer/test_hot_reload.py do), so `-m "not needs_model"` never starts Rasa.
MODEL_FIXTURES = ("stack", "real_model")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(name in getattr(item, "fixturenames", ()) for name in MODEL_FIXTURES):
            item.add_marker(pytest.mark.needs_model)


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if POSTGRES else ["sqlite"]


@pytest.fixture(params=_backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL for an empty database, migrated to head, dropped afterwards."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.sqlite3'}"
        upgrade_to_head(url)
        yield url
        return
    name = f"bot_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade_to_head(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real processes (Redis, refunds, actions, Rasa, gateway), started once for the whole run: Rasa
    takes about a minute to load. Used by tests/e2e and by the hot-reload tests in tests/trainer."""
    if not list((ROOT / "models").glob("*.tar.gz")):
        pytest.fail("no trained model in models/: run bin/setup first (bin/test does)")
    workdir = tmp_path_factory.mktemp("stack")
    running = Stack(workdir=workdir, database_url=f"sqlite:///{workdir / 'e2e.sqlite3'}")
    try:
        running.start()
        yield running
    finally:
        running.stop()
        print(f"\ne2e process logs: {workdir / 'logs'}")
