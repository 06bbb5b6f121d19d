"""The model folder's life cycle: candidates are trained beside models/, installed into it when accepted, moved out
on rejection or rollback, and pruned.

Invariant: the newest file (by modification time) in models/ is the live model, because `rasa run --model models`
(bot/launch.py) loads the newest one on start. Candidates and rejected models live in subfolders, which Rasa and
bin/setup never look into.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from bot.settings import ROOT

KEEP_MODELS = 3  # the live one and two to roll back to; each is ~80 MB
KEEP_REJECTED = 3


class NoPreviousModel(RuntimeError):
    """Rollback needs a second model in models/."""


@dataclass(frozen=True)
class ModelStore:
    root: Path  # models/

    @classmethod
    def default(cls) -> ModelStore:
        return cls(ROOT / "models")

    @property
    def candidates(self) -> Path:
        return self.root / "candidates"

    @property
    def rejected(self) -> Path:
        return self.root / "rejected"

    def installed(self) -> list[Path]:
        """Models in models/, newest first."""
        return _newest_first(self.root)

    def newest(self) -> Path | None:
        models = self.installed()
        return models[0] if models else None

    def find(self, name: str) -> Path | None:
        """A model file by name, in models/ or (for a model that was rolled back) rejected/."""
        for folder in (self.root, self.rejected, self.candidates):
            path = folder / name
            if path.is_file():
                return path
        return None

    def previous(self, live: str) -> Path | None:
        """The newest installed model other than `live`: what a rollback goes back to."""
        return next((p for p in self.installed() if p.name != live), None)

    def install(self, candidate: Path) -> Path:
        """Move an accepted candidate into models/ and make it the newest."""
        target = self.root / candidate.name
        os.replace(candidate, target)
        _make_newest(target)
        return target

    def reject(self, model: Path) -> Path:
        """Move a model out of models/ (or candidates/) into rejected/, kept for inspection."""
        self.rejected.mkdir(parents=True, exist_ok=True)
        target = self.rejected / model.name
        os.replace(model, target)
        _prune(self.rejected, KEEP_REJECTED)
        return target

    def make_live(self, model: Path) -> None:
        """Mark an installed model as the newest, so a restarted Rasa loads it too."""
        _make_newest(model)

    def prune(self, live: str | None) -> list[Path]:
        """Delete all but the KEEP_MODELS newest installed models; never the live one."""
        return _prune(self.root, KEEP_MODELS, keep_name=live)


def _newest_first(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)


def _make_newest(path: Path) -> None:
    # strictly newer than every other model even on file systems with coarse timestamps
    others = [p.stat().st_mtime for p in path.parent.glob("*.tar.gz") if p != path]
    now = max([time.time(), *(t + 1 for t in others)])
    os.utime(path, (now, now))


def _prune(folder: Path, keep: int, keep_name: str | None = None) -> list[Path]:
    removed = []
    for old in _newest_first(folder)[keep:]:
        if old.name != keep_name:
            old.unlink()
            removed.append(old)
    return removed

