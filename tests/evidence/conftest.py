"""Evidence-store fixtures: a migrated database (both backends) and a private photo folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.evidence.models import Photo
from bot.settings import get_settings


@pytest.fixture
def photo_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings point at a fresh var/ so stored files can be counted exactly."""
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield get_settings().photo_dir
    get_settings.cache_clear()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


@pytest.fixture
def session(sessions: sessionmaker, photo_dir: Path) -> Iterator[Session]:
    with sessions() as s:
        yield s


def photo_rows(sessions: sessionmaker) -> int:
    with sessions() as s:
        return int(s.execute(select(func.count()).select_from(Photo)).scalar_one())


def stored_files(photo_dir: Path) -> list[Path]:
    return sorted(p for p in photo_dir.iterdir() if p.is_file())
