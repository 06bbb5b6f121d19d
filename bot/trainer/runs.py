"""Retrain runs on disk: one JSON status file and one log per run under var/retrain/, and the lock that lets only
one run (or rollback) touch the models at a time.

The lock is an fcntl.flock on var/retrain/lock: the kernel releases it when the holder exits, so a crashed run
never blocks the next one, and a status left in a running state without a lock holder is reported as failed.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bot.settings import get_settings

RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
RUNNING_STATES = ("queued", "training", "evaluating", "loading")
FINISHED_STATES = ("accepted", "rejected", "failed")


class RetrainBusy(RuntimeError):
    """Another retrain or rollback holds the lock."""


def runs_dir() -> Path:
    path = get_settings().var_dir / "retrain"
    path.mkdir(parents=True, exist_ok=True)
    return path


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def valid_run_id(run_id: str) -> str:
    if not RUN_ID.fullmatch(run_id):
        raise ValueError(f"invalid run id {run_id!r}")
    return run_id


def status_path(run_id: str) -> Path:
    return runs_dir() / f"{valid_run_id(run_id)}.json"


def log_path(run_id: str) -> Path:
    return runs_dir() / f"{valid_run_id(run_id)}.log"


def write_status(status: dict[str, Any]) -> None:
    """Replace the run's status file atomically, so readers never see half a file."""
    path = status_path(status["run_id"])
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(status, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def acquire_lock() -> int:
    """Take the lock without waiting; return its file descriptor (closing it releases the lock)."""
    fd = os.open(runs_dir() / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RetrainBusy("a retrain or rollback is already running") from None
    return fd


def lock_is_held() -> bool:
    try:
        fd = acquire_lock()
    except RetrainBusy:
        return True
    os.close(fd)
    return False


def read_status(run_id: str) -> dict[str, Any] | None:
    """The run's status, or None for an unknown run; a run whose process died is reported as failed."""
    try:
        path = status_path(run_id)
        status: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, FileNotFoundError):
        return None
    if status.get("state") in RUNNING_STATES and not lock_is_held():
        # re-read: the run may have finished between the two reads
        status = json.loads(path.read_text(encoding="utf-8"))
        if status.get("state") in RUNNING_STATES:
            status |= {"state": "failed", "error": "the retrain process ended without finishing; see its log"}
    return status


def latest_status() -> dict[str, Any] | None:
    """The status of the most recently updated run, or None when there was none."""
    files = sorted(runs_dir().glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    return read_status(files[0].stem) if files else None
