"""Fixtures for the trainer tests: a model folder on tmp dirs with fake model files, a fake Rasa, run files under
tmp. The hot-reload tests use the session's real `stack` from tests/conftest.py."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bot.rasa_protocol import ReloadFailed
from bot.trainer import runs
from bot.trainer.model_files import ModelStore

REAL_MODELS = Path(__file__).resolve().parents[2] / "models"


def fake_model(folder: Path, name: str, age_s: float = 0.0) -> Path:
    """A stand-in model file, `age_s` seconds old."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(name.encode())
    when = time.time() - age_s
    os.utime(path, (when, when))
    return path


class FakeRasa:
    """Records what would be loaded; `fail` makes loading fail like a refused PUT /model."""

    def __init__(self, live: str | None) -> None:
        self.live, self.loads, self.fail = live, [], False

    def live_model(self, timeout: float = 5.0) -> str | None:
        return self.live

    def load(self, model: Path) -> float:
        if self.fail:
            raise ReloadFailed("PUT /model answered 500")
        self.loads.append(model.name)
        self.live = model.name
        return 0.1


@pytest.fixture
def runs_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Status files, logs, the lock and the fold scores under tmp, never the real var/."""
    from bot.trainer import fold

    folder = tmp_path / "retrain"
    folder.mkdir()
    monkeypatch.setattr(runs, "runs_dir", lambda: folder)
    monkeypatch.setattr(fold, "_registry", lambda: folder / "folds.json")
    return folder


@pytest.fixture
def model_store(tmp_path: Path) -> ModelStore:
    """models/ with three installed models, the newest (c) live."""
    root = tmp_path / "models"
    for age, name in ((300, "a.tar.gz"), (200, "b.tar.gz"), (100, "c.tar.gz")):
        fake_model(root, name, age_s=age)
    return ModelStore(root)


@pytest.fixture(scope="session")
def real_model() -> Path:
    models = sorted(REAL_MODELS.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        pytest.fail("no trained model in models/: run bin/setup first (bin/test does)")
    return models[-1]
