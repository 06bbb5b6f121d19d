"""The model folder's life cycle: candidates are trained beside models/, installed into it when accepted, moved out
on rejection or rollback, and pruned. ModelStore is the only code that moves, marks or deletes model files; bin/setup
and bin/retrain both reach models/ through it (bot.trainer.retrain).

Invariant: the newest file (by modification time) in models/ is the live model, because `rasa run --model models`
(bot/launch.py) loads the newest one on start. Candidates and rejected models live in subfolders, which Rasa never
looks into.

Each model the store installs or rejects is recorded in models/inputs.json with the hash of what it was trained from
(training_inputs: config, domain, data, the NLU components' code, the locked packages), so bin/setup can tell
whether the live model is that of the project as it is, and does not train again what the gate already refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.settings import ROOT

KEEP_MODELS = 3  # the live one and two to roll back to; each is ~80 MB
KEEP_REJECTED = 3
RECORDS = "inputs.json"
# What `rasa train --config config.yml --domain domain.yml --data data` makes a model from (bot/nlu: our components).
TRAINING_INPUTS = ("config.yml", "domain.yml", "data", "bot/nlu", "requirements.lock", "requirements-nodeps.lock")


class NoPreviousModel(RuntimeError):
    """Rollback needs a second model in models/."""


def training_inputs(root: Path = ROOT) -> str:
    """A hash of the names and contents of every file a model is trained from (hidden files and caches aside)."""
    digest = hashlib.sha256()
    for name in TRAINING_INPUTS:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            parts = file.relative_to(root).parts
            if any(part.startswith(".") or part == "__pycache__" for part in parts):
                continue
            digest.update("/".join(parts).encode() + b"\0")
            digest.update((file.read_bytes() if file.is_file() else b"<missing>") + b"\0")
    return digest.hexdigest()


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

    def install(self, candidate: Path, *, inputs: str | None = None) -> Path:
        """Move an accepted candidate into models/ and make it the newest; remember what it was trained from."""
        target = self.root / candidate.name
        os.replace(candidate, target)
        _make_newest(target)
        if inputs is not None:
            self._record(target.name, {"inputs": inputs})
        return target

    def reject(self, model: Path, *, inputs: str | None = None, lost_to: str | None = None,
               reason: str | None = None) -> Path:
        """Move a model out of models/ (or candidates/) into rejected/, kept for inspection. With `inputs`, the
        gate's refusal is remembered: bin/setup does not train the same inputs against the same live model again."""
        self.rejected.mkdir(parents=True, exist_ok=True)
        target = self.rejected / model.name
        os.replace(model, target)
        _prune(self.rejected, KEEP_REJECTED)
        if inputs is not None:
            self._record(target.name, {"inputs": inputs, "lost_to": lost_to, "reason": reason})
        return target

    def make_live(self, model: Path) -> None:
        """Mark an installed model as the newest, so a restarted Rasa loads it too."""
        _make_newest(model)

    def prune(self, live: str | None) -> list[Path]:
        """Delete all but the KEEP_MODELS newest installed models; never the live one."""
        removed = _prune(self.root, KEEP_MODELS, keep_name=live)
        self._record(None, {})
        return removed

    def trained_from(self, name: str) -> str | None:
        """The training-inputs hash a model was installed or rejected with (None: not trained through the store)."""
        return self._records().get(name, {}).get("inputs")

    def up_to_date(self, inputs: str) -> Path | None:
        """The live model (newest installed) when it was trained from `inputs`: nothing to train."""
        live = self.newest()
        return live if live is not None and self.trained_from(live.name) == inputs else None

    def refused(self, inputs: str, live: str) -> dict[str, Any] | None:
        """The record of a rejected model trained from `inputs` that the gate found worse than `live`."""
        for name, record in self._records().items():
            if record.get("inputs") == inputs and record.get("lost_to") == live and (self.rejected / name).is_file():
                return {"model": name, **record}
        return None

    def _records(self) -> dict[str, dict[str, Any]]:
        path = self.root / RECORDS
        try:
            records = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return records if isinstance(records, dict) else {}

    def _record(self, name: str | None, record: dict[str, Any]) -> None:
        """Write one model's record (written atomically; callers hold the retrain lock) and forget deleted models."""
        records = self._records()
        if name is not None:
            records[name] = record
        records = {n: r for n, r in records.items() if self.find(n) is not None}
        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.root / f".{RECORDS}.tmp"
        partial.write_text(json.dumps(records, indent=1, sort_keys=True), encoding="utf-8")
        partial.replace(self.root / RECORDS)


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
