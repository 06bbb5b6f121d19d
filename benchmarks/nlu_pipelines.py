"""Choose the NLU pipeline by measurement: stratified k-fold cross-validation on data/nlu, and the unseen set.

Two modes, both printing one row per candidate (accuracy counts a fallback as wrong; macro-F1 over the intents):

    python -m benchmarks.nlu_pipelines sweep [--folds 5]
        The intent classifier's settings (bot.nlu.linear_intents) on the normalised text, in-process: seconds
        per candidate. The fallback threshold is applied to the confidences as Rasa's FallbackClassifier does.
    python -m benchmarks.nlu_pipelines rasa CONFIG.yml [CONFIG.yml ...] [--folds 5]
        Whole Rasa pipelines: `rasa test nlu --cross-validation` with the same data, a full training (timed,
        cold: a fresh output folder and --force) and the unseen set with its robustness transforms.

The unseen set is a check, never a tuning target: candidates are ranked by cross-validation macro-F1.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.settings import ROOT
from bot.trainer.fold import scores, training_set, with_fallback

RASA = Path(sys.executable).parent / "rasa"


def sweep(folds: int) -> None:
    """Cross-validate the linear classifier's settings and fallback thresholds; print the table."""
    from sklearn.model_selection import StratifiedKFold

    from bot.nlu.linear_intents import LinearIntentClassifier, build_model, predict
    from bot.trainer.datacheck_load import nlu_normaliser
    from bot.trainer.unseen import UNSEEN, load_examples

    texts, labels = training_set()
    unseen = load_examples(UNSEEN)
    unseen_texts = [nlu_normaliser().text(e.text) for e in unseen]
    unseen_truth = [e.intent for e in unseen]
    grid: dict[str, list[Any]] = {
        "analyzer": ["char", "char_wb"],
        "max_ngram": [3, 4, 5],
        "alpha": [3e-6, 1e-5, 3e-5],
        "class_weight": [None, "balanced"],
        "mask_numbers": [False, True],
    }
    thresholds = [0.0, 0.2, 0.3, 0.45]
    print(f"{len(texts)} training examples, {len(set(labels))} labels, {folds}-fold stratified CV; "
          f"unseen set {len(unseen)} messages")
    print(f"{'analyzer':8s} {'n':>2s} {'alpha':>6s} {'weight':8s} {'mask':5s} {'fallback':>8s}  cv acc  cv mF1  "
          f"unseen acc  unseen mF1  fit s")
    rows = []
    for values in itertools.product(*grid.values()):
        config = {**LinearIntentClassifier.get_default_config(), **dict(zip(grid, values, strict=True))}
        skf = StratifiedKFold(folds, shuffle=True, random_state=0)
        cv_predictions: list[Any] = [None] * len(texts)
        started = time.monotonic()
        for train_index, test_index in skf.split(texts, labels):
            model = build_model(config).fit([texts[i] for i in train_index], [labels[i] for i in train_index])
            for i, p in zip(test_index, predict(model, [texts[i] for i in test_index]), strict=True):
                cv_predictions[i] = p
        fit_seconds = (time.monotonic() - started) / folds
        full = build_model(config).fit(texts, labels)
        unseen_predictions = predict(full, unseen_texts)
        for threshold in thresholds:
            cv = scores(labels, with_fallback(cv_predictions, threshold, 0.0))
            un = scores(unseen_truth, with_fallback(unseen_predictions, threshold, 0.0))
            rows.append((cv[1], values, threshold, cv, un, fit_seconds))
    rows.sort(key=lambda r: -r[0])
    for _, (analyzer, n, alpha, weight, mask), threshold, cv, un, fit in rows[:25]:
        print(f"{analyzer:8s} {n:2d} {alpha:6.0e} {str(weight):8s} {str(mask):5s} {threshold:8.2f}  {cv[0]:.3f}   "
              f"{cv[1]:.3f}   {un[0]:.3f}       {un[1]:.3f}       {fit:.1f}", flush=True)
    print(f"best by CV macro-F1 first; {len(rows)} candidates in all; default now "
          f"{json.dumps(LinearIntentClassifier.get_default_config())}")


def _rasa(config: Path, folds: int, workdir: Path) -> dict[str, Any]:
    from bot.trainer.evaluate import load_metrics
    from bot.trainer.unseen import UNSEEN, evaluate, load_examples

    out = workdir / config.stem
    cv_dir = out / "cv"
    started = time.monotonic()
    subprocess.run([str(RASA), "test", "nlu", "--nlu", "data/nlu", "--config", str(config), "--cross-validation",
                    "--folds", str(folds), "--out", str(cv_dir)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cv_seconds = time.monotonic() - started
    cv = load_metrics(cv_dir)
    started = time.monotonic()
    subprocess.run([str(RASA), "train", "nlu", "--nlu", "data/nlu", "--config", str(config), "--out",
                    str(out / "model"), "--force"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    train_seconds = time.monotonic() - started
    model = next((out / "model").glob("*.tar.gz"))
    scores = evaluate(model, load_examples(UNSEEN))
    return {"config": config.name, "cv_accuracy": cv.accuracy, "cv_macro_f1": cv.macro_f1,
            "cv_seconds": round(cv_seconds), "train_seconds": round(train_seconds),
            "unseen_accuracy": scores["clean"].accuracy, "unseen_macro_f1": scores["clean"].macro_f1,
            "out_of_scope_routed": scores["clean"].out_of_scope_routed,
            **{f"{name}_ratio": round(s.accuracy / scores["clean"].accuracy, 3)
               for name, s in scores.items() if name != "clean"}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("sweep", "rasa"))
    parser.add_argument("configs", nargs="*", type=Path)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    if args.mode == "sweep":
        sweep(args.folds)
        return
    workdir = Path(tempfile.mkdtemp(prefix="nlu-pipelines-"))
    try:
        for config in args.configs:
            print(json.dumps(_rasa(config.resolve(), args.folds, workdir), ensure_ascii=False), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
