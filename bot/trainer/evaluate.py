"""Evaluate NLU models: the held-in test set per model file (cached), the unseen set with its robustness
transforms (bot.trainer.unseen), stratified k-fold cross-validation, and the metrics a trainer reads (accuracy,
macro-F1, per-intent F1, confusion pairs, misclassified examples).

    python -m bot.trainer.evaluate [--folds K | --no-cv] [--out results]   (what bin/eval-nlu runs)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.settings import ROOT, get_settings

log = logging.getLogger(__name__)

HELD_IN = ROOT / "tests" / "nlu" / "test_nlu.yml"
RASA = Path(sys.executable).parent / "rasa"
SUMMARY_KEYS = ("accuracy", "macro avg", "weighted avg", "micro avg")
KEEP_CACHED = 10  # evaluations kept in var/eval (about 0.5 MB each, mostly the pictures)


class EvaluationFailed(RuntimeError):
    """`rasa test nlu` exited with an error; the message ends with the tail of its log."""


@dataclass(frozen=True)
class Confusion:
    expected: str
    predicted: str
    count: int

    def __str__(self) -> str:
        return f"{self.expected} → {self.predicted} ×{self.count}"


@dataclass
class Metrics:
    """What one `rasa test nlu` output folder says about intents."""

    results_dir: Path
    accuracy: float
    macro_f1: float
    weighted_f1: float
    examples: int
    per_intent: dict[str, dict[str, float]] = field(default_factory=dict)
    confusions: list[Confusion] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def headline(self) -> dict[str, float]:
        return {"accuracy": round(self.accuracy, 4), "macro_f1": round(self.macro_f1, 4)}

    def worst(self, n: int = 5) -> list[tuple[str, float]]:
        return sorted(((name, v["f1"]) for name, v in self.per_intent.items()), key=lambda item: item[1])[:n]


def confusion_pairs(errors: list[dict[str, Any]]) -> list[Confusion]:
    """Count (expected, predicted) pairs among the misclassified examples, most frequent first."""
    counts = Counter((e["intent"], e["intent_prediction"]["name"]) for e in errors)
    return [Confusion(exp, pred, n) for (exp, pred), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def load_metrics(results_dir: Path) -> Metrics:
    """Read intent_report.json and intent_errors.json from a `rasa test nlu` output folder."""
    report = json.loads((results_dir / "intent_report.json").read_text(encoding="utf-8"))
    errors_file = results_dir / "intent_errors.json"
    errors = json.loads(errors_file.read_text(encoding="utf-8")) if errors_file.exists() else []
    per_intent = {
        name: {"precision": float(v["precision"]), "recall": float(v["recall"]), "f1": float(v["f1-score"]),
               "support": int(v["support"])}
        for name, v in report.items() if isinstance(v, dict) and name not in SUMMARY_KEYS
    }
    return Metrics(
        results_dir=results_dir,
        accuracy=float(report["accuracy"]),
        macro_f1=float(report["macro avg"]["f1-score"]),
        weighted_f1=float(report["weighted avg"]["f1-score"]),
        examples=int(report["macro avg"]["support"]),
        per_intent=per_intent,
        confusions=confusion_pairs(errors),
        errors=sorted(errors, key=lambda e: -e["intent_prediction"]["confidence"]),
    )


def _run_rasa(args: list[str], out: Path, log_file: Path) -> None:
    """Run `rasa test nlu ...` into a fresh folder `out`; raise EvaluationFailed with the log's tail."""
    shutil.rmtree(out, ignore_errors=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("wb") as fh:
        done = subprocess.run([str(RASA), "test", "nlu", *args, "--out", str(out)], cwd=ROOT, stdout=fh,
                              stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0 or not (out / "intent_report.json").exists():
        tail = log_file.read_text(errors="replace")[-2000:]
        raise EvaluationFailed(f"rasa test nlu failed (exit {done.returncode}); log {log_file}:\n{tail}")


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def cache_key(model: Path, test_set: Path = HELD_IN) -> str:
    """Results depend on the model and the test set; model names are unique timestamps, the size guards reuse."""
    stem = model.name.removesuffix(".tar.gz")
    return f"{stem}-{model.stat().st_size}-{_file_digest(test_set)}"


def evaluate_model(model: Path, *, cache_dir: Path | None = None, test_set: Path = HELD_IN) -> Metrics:
    """Held-in evaluation of one model file, reused when this model was already evaluated on this test set."""
    cache_dir = cache_dir or get_settings().var_dir / "eval"
    out = cache_dir / cache_key(model, test_set)
    if (out / "intent_report.json").exists():
        log.info("reusing the evaluation of %s from %s", model.name, out)
        return load_metrics(out)
    partial = out.with_name(out.name + ".partial")
    started = time.monotonic()
    _run_rasa(["--nlu", str(test_set), "--model", str(model)], partial, cache_dir / f"{out.name}.log")
    os.replace(partial, out)  # only complete evaluations are ever found in the cache
    log.info("evaluated %s in %.0fs", model.name, time.monotonic() - started)
    _prune_cache(cache_dir)
    return load_metrics(out)


def _prune_cache(cache_dir: Path) -> None:
    folders = sorted((p for p in cache_dir.iterdir() if p.is_dir() and not p.name.endswith(".partial")),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    for old in folders[KEEP_CACHED:]:
        shutil.rmtree(old, ignore_errors=True)
        old.with_name(old.name + ".log").unlink(missing_ok=True)


def cross_validate(folds: int, out: Path, *, data: Path = ROOT / "data" / "nlu") -> Metrics:
    """k-fold cross-validation on the training data (trains `folds` models: minutes)."""
    _run_rasa(["--nlu", str(data), "--config", str(ROOT / "config.yml"), "--cross-validation",
               "--folds", str(folds)], out, get_settings().var_dir / "eval-cv.log")
    return load_metrics(out)


def print_summary(title: str, metrics: Metrics, pairs: int = 5) -> None:
    print(f"{title}: intent accuracy {metrics.accuracy:.3f}  macro-F1 {metrics.macro_f1:.3f}  "
          f"weighted-F1 {metrics.weighted_f1:.3f}  ({metrics.examples} examples, {len(metrics.errors)} wrong)")
    print("  weakest intents: " + ", ".join(f"{name} {f1:.2f}" for name, f1 in metrics.worst()))
    if metrics.confusions:
        print("  top confusions:  " + "; ".join(str(c) for c in metrics.confusions[:pairs]))


def main(argv: list[str] | None = None) -> None:
    from bot.trainer.model_files import ModelStore
    from bot.trainer.report import write_report
    from bot.trainer.unseen import UNSEEN, load_examples
    from bot.trainer.unseen import evaluate as evaluate_unseen
    from bot.trainer.unseen import print_scores as print_unseen

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-cv", action="store_true", help="skip cross-validation")
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    model = ModelStore.default().newest()
    if model is None:
        raise SystemExit("no model in models/: run bin/setup first")
    started = time.monotonic()
    held_in = evaluate_model(model)
    shutil.rmtree(args.out / "nlu", ignore_errors=True)
    shutil.copytree(held_in.results_dir, args.out / "nlu")
    held_in.results_dir = args.out / "nlu"
    print_summary(f"held-in ({HELD_IN.relative_to(ROOT)}, model {model.name})", held_in)
    print(f"  took {time.monotonic() - started:.0f}s")

    started = time.monotonic()
    unseen = evaluate_unseen(model, load_examples(UNSEEN))
    print_unseen(unseen)
    print(f"  took {time.monotonic() - started:.0f}s")
    (args.out / "unseen.json").write_text(json.dumps({k: asdict(v) for k, v in unseen.items()}, ensure_ascii=False,
                                                     indent=1), encoding="utf-8")

    cv = None
    if not args.no_cv:
        started = time.monotonic()
        print(f"{args.folds}-fold cross-validation on data/nlu (trains {args.folds} models) ...", flush=True)
        cv = cross_validate(args.folds, args.out / "cv")
        print_summary(f"{args.folds}-fold cross-validation", cv)
        print(f"  took {time.monotonic() - started:.0f}s")
    report = write_report(args.out / "report.html", held_in=held_in, cv=cv, model_name=model.name,
                          folds=None if cv is None else args.folds, unseen=unseen)
    print(f"report: {report}")


if __name__ == "__main__":
    main()
