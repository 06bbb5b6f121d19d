"""Retrain in the background, compare the candidate with the live model on the held-in test set, the unseen set and
a cross-validation fold (bot.trainer.fold), and hot-load it into the running Rasa only if it is worse on none. The
previous model stays in models/ for rollback.

    python -m bot.trainer.retrain [--run-id ID] [--tolerance T] [--force]
    python -m bot.trainer.retrain --rollback
    python -m bot.trainer.retrain --status [RUN_ID]
    python -m bot.trainer.retrain --setup     (bin/setup: train only when the live model is not that of the data)

For the gateway: start_retrain(), read_status(), latest_status(), rollback(), live_model().
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.rasa_protocol import RasaServer, ReloadFailed
from bot.settings import ROOT
from bot.trainer import fold, progress
from bot.trainer.evaluate import RASA, Metrics, evaluate_model
from bot.trainer.model_files import ModelStore, NoPreviousModel, training_inputs
from bot.trainer.runs import (
    RetrainBusy,
    acquire_lock,
    latest_status,
    log_path,
    new_run_id,
    now_iso,
    read_status,
    valid_run_id,
    write_status,
)
from bot.trainer.unseen import UNSEEN

__all__ = ["RetrainBusy", "NoPreviousModel", "start_retrain", "read_status", "latest_status", "rollback",
           "live_model", "setup_model", "decide", "decide_sets", "DEFAULT_TOLERANCE"]

# One held-in example is 1/185 = 0.54 points of accuracy, and one misclassification moves macro-F1 (24 intents,
# ~7 examples each) by about 0.006. A tolerance of 0.01 therefore forgives one example going the wrong way and
# rejects a candidate that loses two or more. Retraining on unchanged data gives identical scores (fixed seeds),
# but adding examples for one intent often flips a single borderline example of a neighbour; refusing every such
# trade would block most useful edits, while two lost examples are a real regression a trainer should look at.
DEFAULT_TOLERANCE = 0.01
POLL_SECONDS = 2.0


@dataclass(frozen=True)
class Decision:
    accept: bool
    reason: str


def decide(before: dict[str, float] | None, after: dict[str, float], *, tolerance: float = DEFAULT_TOLERANCE,
           force: bool = False) -> Decision:
    """Accept when accuracy and macro-F1 are each at least the live model's minus `tolerance`."""
    if before is None:
        return Decision(True, "no live model to compare with")
    worse = [f"{key} {after[key]:.3f} < {before[key]:.3f} - {tolerance:g}" for key in ("accuracy", "macro_f1")
             if after[key] < before[key] - tolerance]
    if worse and force:
        return Decision(True, "forced although worse: " + "; ".join(worse))
    if worse:
        return Decision(False, "worse than the live model: " + "; ".join(worse))
    return Decision(True, f"not worse than the live model (tolerance {tolerance:g})")


def decide_sets(pairs: dict[str, tuple[dict[str, float] | None, dict[str, float]]], *,
                tolerance: float = DEFAULT_TOLERANCE, force: bool = False) -> Decision:
    """Accept only when the candidate is not worse on any evaluation set (held-in, unseen); say which was."""
    worse = []
    for name, (before, after) in pairs.items():
        decision = decide(before, after, tolerance=tolerance)
        if not decision.accept:
            worse.append(f"{name}: {decision.reason.removeprefix('worse than the live model: ')}")
    if worse and force:
        return Decision(True, "forced although worse: " + "; ".join(worse))
    if worse:
        return Decision(False, "worse than the live model: " + "; ".join(worse))
    compared = [name for name, (before, _) in pairs.items() if before is not None]
    if not compared:
        return Decision(True, "no live model to compare with")
    return Decision(True, f"not worse than the live model on {', '.join(compared)} (tolerance {tolerance:g})")


def intent_changes(before: Metrics | None, after: Metrics, threshold: float = 0.01) -> list[dict[str, Any]]:
    """Intents whose F1 moved, biggest drop first: what the trainer's edit did."""
    if before is None:
        return []
    changes = []
    for name in sorted(set(before.per_intent) | set(after.per_intent)):
        b, a = before.per_intent.get(name, {}).get("f1"), after.per_intent.get(name, {}).get("f1")
        if b is None or a is None or abs(a - b) >= threshold:
            changes.append({"intent": name, "before": None if b is None else round(b, 3),
                            "after": None if a is None else round(a, 3)})
    return sorted(changes, key=lambda c: (c["after"] or 0) - (c["before"] or 0))


class Run:
    """One retrain: train a candidate, evaluate, decide, install and load. Writes its status at every step."""

    def __init__(self, run_id: str, *, store: ModelStore, rasa: RasaServer, tolerance: float, force: bool,
                 echo: bool = False) -> None:
        self.store, self.rasa, self.tolerance, self.force, self.echo = store, rasa, tolerance, force, echo
        self.inputs: str | None = None  # the training-inputs hash of the candidate (model_files.training_inputs)
        self.log = log_path(run_id)
        self.status: dict[str, Any] = {
            "run_id": run_id, "state": "queued", "phase": "waiting to start", "percent": 0.0,
            "started_at": now_iso(), "finished_at": None, "live_model": None, "candidate_model": None,
            "before": None, "after": None, "before_unseen": None, "after_unseen": None, "before_fold": None,
            "after_fold": None, "changes": [],
            "tolerance": tolerance, "reason": None,
            "loaded": False, "log": str(self.log), "error": None, "timings": {},
        }

    def update(self, **fields: Any) -> None:
        phase_changed = fields.get("phase", self.status["phase"]) != self.status["phase"]
        self.status |= fields
        write_status(self.status)
        if self.echo and phase_changed:
            print(f"[{self.status['percent']:5.1f}%] {self.status['state']}: {self.status['phase']}", flush=True)

    def execute(self) -> dict[str, Any]:
        try:
            self._execute()
        except Exception as exc:  # the status file is how the trainer page learns about any failure
            self.update(state="failed", phase="failed", error=f"{type(exc).__name__}: {exc}")
        self.update(finished_at=now_iso())
        return self.status

    def _execute(self) -> None:
        self.update(state="queued", phase="waiting to start")
        self.inputs = training_inputs()  # before training: an edit made meanwhile makes the next bin/setup train
        candidate = self.train()
        live_name = self.rasa.live_model()
        running = live_name is not None
        # compare with what shoppers talk to; when Rasa is down, with what it would load on start
        live = (self.store.find(live_name) if live_name else None) or self.store.newest()
        if live is None:  # a fresh clone: nothing to compare with, so the first model goes live
            fold.record(candidate.name, self._timed("eval_candidate_fold_s", fold.fold_score))
            self.update(reason="no live model to compare with", percent=95.0)
            self.install(candidate, previous=None, load=running)
            return
        self.update(state="evaluating", phase=f"evaluating the live model {live.name if live else '(none)'}",
                    percent=80.0, live_model=live.name if live else live_name)
        before = self._timed("eval_live_s", evaluate_model, live) if live else None
        before_unseen = self._timed("eval_live_unseen_s", evaluate_model, live, test_set=UNSEEN) if live else None
        self.update(phase=f"evaluating the candidate {candidate.name}", percent=88.0,
                    before=before.headline() if before else None,
                    before_unseen=before_unseen.headline() if before_unseen else None)
        after = self._timed("eval_candidate_s", evaluate_model, candidate)
        after_unseen = self._timed("eval_candidate_unseen_s", evaluate_model, candidate, test_set=UNSEEN)
        after_fold = self._timed("eval_candidate_fold_s", fold.fold_score)
        fold.record(candidate.name, after_fold)
        before_fold = fold.recorded(live.name) if live else None
        decision = decide_sets({"held-in": (self.status["before"], after.headline()),
                                "unseen": (self.status["before_unseen"], after_unseen.headline()),
                                "CV fold": (before_fold, after_fold)},
                               tolerance=self.tolerance, force=self.force)
        self.update(after=after.headline(), after_unseen=after_unseen.headline(), before_fold=before_fold,
                    after_fold=after_fold, changes=intent_changes(before, after), reason=decision.reason,
                    percent=95.0)
        if not decision.accept:
            self.store.reject(candidate, inputs=self.inputs, lost_to=live.name if live else None,
                              reason=decision.reason)
            self.update(state="rejected", phase="rejected: the live model stays", percent=100.0)
            return
        self.install(candidate, previous=live, load=running)

    def train(self) -> Path:
        """`rasa train` into models/candidates/<run_id>.tar.gz, reporting progress from its log."""
        self.store.candidates.mkdir(parents=True, exist_ok=True)
        run_id = self.status["run_id"]
        argv = [str(RASA), "train", "--config", "config.yml", "--domain", "domain.yml", "--data", "data",
                "--out", str(self.store.candidates), "--fixed-model-name", run_id]
        components = progress.components_of(ROOT / "config.yml")
        self.update(state="training", phase="starting rasa train", percent=0.0)
        started = time.monotonic()
        with self.log.open("ab") as out:
            proc = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            while proc.poll() is None:
                time.sleep(POLL_SECONDS)
                step = progress.parse(self.log.read_text(errors="replace"), components)
                if step.phase != self.status["phase"] or round(0.8 * step.percent, 1) != self.status["percent"]:
                    self.update(phase=step.phase, percent=round(0.8 * step.percent, 1))
        self.status["timings"]["train_s"] = round(time.monotonic() - started, 1)
        candidate = self.store.candidates / f"{run_id}.tar.gz"
        if proc.returncode != 0 or not candidate.exists():
            tail = self.log.read_text(errors="replace")[-1500:]
            raise RuntimeError(f"rasa train failed (exit {proc.returncode}):\n{tail}")
        self.update(phase="trained", percent=80.0, candidate_model=candidate.name)
        return candidate

    def install(self, candidate: Path, *, previous: Path | None, load: bool) -> None:
        """Move the candidate into models/ and, when Rasa runs, load it; undo the move if loading fails."""
        self.update(state="loading", phase="installing the candidate into models/", percent=96.0)
        installed = self.store.install(candidate, inputs=self.inputs)
        if load:
            self.update(phase=f"loading {installed.name} into the running Rasa")
            try:
                self._timed("load_s", self.rasa.load, installed)
            except ReloadFailed:
                self.store.reject(installed)
                if previous is not None and previous.parent == self.store.root:
                    self.store.make_live(previous)
                raise
        self.store.prune(live=installed.name)
        phase = "live in the running Rasa" if load else "installed; Rasa is not running, it loads it on start"
        self.update(state="accepted", phase=phase, loaded=load, percent=100.0)

    def _timed(self, key: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        result = fn(*args, **kwargs)
        self.status["timings"][key] = round(time.monotonic() - started, 1)
        return result


def start_retrain(*, tolerance: float | None = None) -> str:
    """Start a retrain in a detached process and return its run id; raise RetrainBusy if one is running.

    The lock is taken here and handed to the child (flock belongs to the open file, which the child inherits),
    so two calls at the same moment cannot both start a run.
    """
    fd = acquire_lock()
    run_id = new_run_id()
    try:
        Run(run_id, store=ModelStore.default(), rasa=RasaServer.from_settings(),
            tolerance=DEFAULT_TOLERANCE if tolerance is None else tolerance, force=False).update()
        argv = [sys.executable, "-m", "bot.trainer.retrain", "--run-id", run_id, "--lock-fd", str(fd)]
        if tolerance is not None:
            argv += ["--tolerance", str(tolerance)]
        with log_path(run_id).open("ab") as out:
            proc = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    pass_fds=(fd,), start_new_session=True)
    finally:
        os.close(fd)
    threading.Thread(target=proc.wait, daemon=True).start()  # reap it, so no zombie stays behind
    return run_id


def live_model() -> str | None:
    """The model the running Rasa has loaded, or, when Rasa is down, the one it would load (newest in models/)."""
    loaded = RasaServer.from_settings().live_model()
    if loaded:
        return loaded
    newest = ModelStore.default().newest()
    return newest.name if newest else None


def rollback(*, store: ModelStore | None = None, rasa: RasaServer | None = None) -> dict[str, Any]:
    """Load the previous model and move the current one out of models/ (into models/rejected/)."""
    store, rasa = store or ModelStore.default(), rasa or RasaServer.from_settings()
    fd = acquire_lock()
    try:
        loaded = rasa.live_model()
        newest = store.newest()
        current = loaded or (newest.name if newest else None)
        previous = store.previous(current) if current else None
        if previous is None:
            raise NoPreviousModel("there is no previous model in models/ to roll back to")
        load_s = rasa.load(previous) if loaded else None
        current_path = store.root / current if current else None
        if current_path is not None and current_path.is_file():
            # remembered as refused, so bin/setup does not train the rolled-back data straight back in
            store.reject(current_path, inputs=store.trained_from(current_path.name), lost_to=previous.name,
                         reason="rolled back")
        store.make_live(previous)
        return {"live_model": previous.name, "removed": current, "loaded": loaded is not None,
                "load_s": None if load_s is None else round(load_s, 1)}
    finally:
        os.close(fd)


def setup_model(*, store: ModelStore | None = None, rasa: RasaServer | None = None) -> dict[str, Any]:
    """bin/setup's model step, through the same gate as a retrain.

    Nothing is trained when the live model (the newest in models/) was trained from the project as it is. On a fresh
    clone the first model goes live. Otherwise a candidate is trained and installed only if the gate accepts it; a
    refused one is remembered, so the same inputs are not trained against the same live model again (a trainer who
    wants them anyway runs bin/retrain --force). Returns the run's status, or {"state": "up_to_date" | "refused"}.
    """
    store, rasa = store or ModelStore.default(), rasa or RasaServer.from_settings()
    fd = acquire_lock()
    try:
        inputs = training_inputs()
        current = store.up_to_date(inputs)
        if current is not None:
            store.prune(live=current.name)
            return {"state": "up_to_date", "live_model": current.name}
        live = store.newest()
        refused = store.refused(inputs, live.name) if live else None
        if live and refused:
            return {"state": "refused", "live_model": live.name, "candidate_model": refused["model"],
                    "reason": refused.get("reason")}
        run = Run(new_run_id(), store=store, rasa=rasa, tolerance=DEFAULT_TOLERANCE, force=False)
        print(f"training a model for the project as it is ({'first model' if live is None else 'gated'}); "
              f"log {run.log.relative_to(ROOT) if run.log.is_relative_to(ROOT) else run.log}", flush=True)
        return run.execute()
    finally:
        os.close(fd)


def _setup_main() -> None:
    started = time.monotonic()
    try:
        status = setup_model()
    except RetrainBusy as exc:
        raise SystemExit(f"error: {exc}; wait for it (bin/retrain --status) and run bin/setup again") from None
    state, live = status["state"], status.get("live_model")
    took = f"{time.monotonic() - started:.0f}s"
    if state == "up_to_date":
        print(f"model up to date: models/{live} was trained from the project as it is")
    elif state == "accepted":
        print(f"model ready in {took}: models/{status['candidate_model']} is live ({status['reason']})")
    elif state in ("rejected", "refused"):
        print(f"warning: the model of the project as it is ({status['candidate_model']}) did not pass the retrain "
              f"gate: {status['reason']}.\n  models/{live} stays live; `bin/retrain --force` installs the new one "
              "anyway (`bin/retrain --rollback` undoes that).", file=sys.stderr)
    else:
        raise SystemExit(f"error: training failed: {status.get('error')}\n  the whole log is in {status.get('log')}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-id", type=valid_run_id)
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE)
    parser.add_argument("--force", action="store_true", help="install the candidate even if it is worse")
    parser.add_argument("--rollback", action="store_true", help="go back to the previous model")
    parser.add_argument("--status", nargs="?", const="", metavar="RUN_ID", help="print a run's status")
    parser.add_argument("--setup", action="store_true",
                        help="bin/setup: train only when the live model is not that of the project as it is")
    parser.add_argument("--lock-fd", type=int, help=argparse.SUPPRESS)  # handed over by start_retrain
    args = parser.parse_args(argv)

    if args.setup:
        _setup_main()
        return
    if args.status is not None:
        status = read_status(args.status) if args.status else latest_status()
        print(json.dumps(status, ensure_ascii=False, indent=1))
        raise SystemExit(0 if status else 1)
    try:
        if args.rollback:
            print(json.dumps(rollback(), ensure_ascii=False))
            return
        fd = args.lock_fd if args.lock_fd is not None else acquire_lock()
    except (RetrainBusy, NoPreviousModel, ReloadFailed) as exc:
        raise SystemExit(f"error: {exc}") from None
    run = Run(args.run_id or new_run_id(), store=ModelStore.default(), rasa=RasaServer.from_settings(),
              tolerance=args.tolerance, force=args.force, echo=True)
    print(f"retrain {run.status['run_id']}: log {run.log}", flush=True)
    status = run.execute()
    os.close(fd)
    print(json.dumps({k: status[k] for k in ("state", "reason", "live_model", "candidate_model", "before",
                                             "after", "timings", "error")}, ensure_ascii=False), flush=True)
    raise SystemExit(0 if status["state"] in ("accepted", "rejected") else 1)


if __name__ == "__main__":
    main()
