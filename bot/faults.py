"""Fault injection at named points, for tests/faults: armed by BOT_FAULTS, free when it is unset.

    BOT_FAULTS="POINT[=EFFECT],..."     e.g. BOT_FAULTS=refunds.before_commit
                                          BOT_FAULTS=actions.validate_case_form=hang:10
    BOT_FAULTS_MARK=/some/file          "POINT PID" is appended (and fsynced) when a point fires, before its
                                        effect, so a test knows where the process stopped

Effects: `kill` (the default: SIGKILL this process, as a power cut or the OOM killer would; nothing runs after it,
not even a `finally`) and `hang:SECONDS` (sleep there, as a stuck dependency would). Each armed point fires once per
process: a process started again with the same environment is armed again.

Points:
- `<table>.before_commit`, `<table>.after_commit`: a transaction of the refund service that inserted a row into
  `<table>` (refunds, coupons, notifications, refund_events, ...) is about to send COMMIT / has had it confirmed by the
  database but not yet answered its caller. `install_sql(sessionmaker)` hooks them in (SQLAlchemy session events).
- `actions.<action name>`: an action of the action server starts running (`await reached(...)`, called by
  actions/failures.py `always_answers` and actions/case_form.py `ValidateCaseForm.run`).

When BOT_FAULTS is unset `ARMED` is empty: `reached` returns at once and `install_sql` installs nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from typing import Any

log = logging.getLogger(__name__)

KILL = "kill"


def parse(spec: str) -> dict[str, str]:
    """{point: effect} from a BOT_FAULTS value; unknown effects are refused (a typo must not arm nothing)."""
    armed: dict[str, str] = {}
    for item in spec.split(","):
        point, _, effect = item.strip().partition("=")
        if not point:
            continue
        effect = effect.strip() or KILL
        if effect != KILL:
            kind, _, seconds = effect.partition(":")
            if kind != "hang" or not seconds.replace(".", "", 1).isdigit():
                raise ValueError(f"BOT_FAULTS: unknown effect {effect!r} for {point!r}; expected kill or hang:SECONDS")
        armed[point.strip()] = effect
    return armed


ARMED: dict[str, str] = parse(os.environ.get("BOT_FAULTS", ""))
_fired: set[str] = set()


def _take(point: str) -> str | None:
    """The effect of `point` if it is armed and has not fired yet in this process (then it has)."""
    effect = ARMED.get(point)
    if effect is None or point in _fired:
        return None
    _fired.add(point)
    mark = os.environ.get("BOT_FAULTS_MARK")
    if mark:
        fd = os.open(mark, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{point} {os.getpid()}\n".encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    log.warning("fault injection: %s reached in pid %s: %s", point, os.getpid(), effect)
    if effect == KILL:
        os.kill(os.getpid(), signal.SIGKILL)
    return effect


def _seconds(effect: str) -> float:
    return float(effect.partition(":")[2])


def fire(point: str) -> None:
    """A named point of blocking code (a worker thread): apply its effect if it is armed."""
    if not ARMED:
        return
    effect = _take(point)
    if effect is not None:
        time.sleep(_seconds(effect))


async def reached(point: str) -> None:
    """A named point of async code (the action server): apply its effect without blocking the event loop."""
    if not ARMED:
        return
    effect = _take(point)
    if effect is not None:
        await asyncio.sleep(_seconds(effect))


def _sql_points() -> bool:
    return any(point.endswith(("before_commit", "after_commit")) for point in ARMED)


def install_sql(sessions: Any) -> None:
    """Hook `<table>.before_commit` / `<table>.after_commit` into the sessions of `sessions` (a sessionmaker).

    The tables a transaction inserts into (its pending objects, collected at each flush and at the commit, whose own
    flush comes after `before_commit`) are forgotten when it ends; the points fire for each such table."""
    if not _sql_points():
        return
    from sqlalchemy import event

    def tables(session: Any) -> set[str]:
        inserted: set[str] = session.info.setdefault("faults_inserted", set())
        return inserted

    def pending(session: Any) -> set[str]:
        return {getattr(obj, "__tablename__", "") for obj in session.new}

    def after_flush(session: Any, _context: Any) -> None:
        tables(session).update(pending(session))

    def before_commit(session: Any) -> None:
        for table in sorted(tables(session) | pending(session)):  # the commit's own flush comes after this
            fire(f"{table}.before_commit")

    def after_commit(session: Any) -> None:
        inserted = sorted(tables(session))
        tables(session).clear()
        for table in inserted:
            fire(f"{table}.after_commit")

    def after_rollback(session: Any) -> None:
        tables(session).clear()

    event.listen(sessions, "after_flush", after_flush)
    event.listen(sessions, "before_commit", before_commit)
    event.listen(sessions, "after_commit", after_commit)
    event.listen(sessions, "after_soft_rollback", lambda session, _previous: after_rollback(session))
