"""One cross-validation fold for the retrain gate: how well the training data predicts a fifth of itself.

A trainer's edit can make the data contradict itself (the same kind of sentence under two intents) without the
held-in or the unseen set noticing; a held-out fold does. The fold is fixed (stratified, seeded), scored with
the intent classifier's settings from config.yml in-process (seconds, not a Rasa training), and recorded per
model in var/eval/folds.json, so a candidate is compared with the fold score its live model had when it was
gated. A model without a record (trained by bin/setup) is compared on the held-in and unseen sets only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.settings import ROOT, get_settings

FOLDS = 5
FOLD = 0
SEED = 0


def _classifier_config(root: Path) -> tuple[dict[str, Any], float]:
    """The LinearIntentClassifier's settings and the fallback threshold, as config.yml gives them."""
    from bot.nlu.linear_intents import LinearIntentClassifier
    from bot.trainer.datacheck_load import pipeline_component

    given = pipeline_component(root, "LinearIntentClassifier") or {}
    config = {**LinearIntentClassifier.get_default_config(), **{k: v for k, v in given.items() if k != "name"}}
    fallback = pipeline_component(root, "FallbackClassifier") or {}
    return config, float(fallback.get("threshold", 0.0))


def training_set(root: Path = ROOT) -> tuple[list[str], list[str]]:
    """The texts of data/nlu as the classifier sees them (normalised) and their full labels (faq/refund_time)."""
    from bot.trainer.datacheck_load import load_nlu, nlu_files, nlu_normaliser

    examples = load_nlu(root, nlu_files(root)).examples
    return [nlu_normaliser().text(e.text) for e in examples], [e.label for e in examples]


def with_fallback(predictions: list[Any], threshold: float, ambiguity: float = 0.0) -> list[str]:
    """The intent Rasa's FallbackClassifier lets through for each prediction, or nlu_fallback."""
    out = []
    for p in predictions:
        (name, top), second = p.ranking[0], (p.ranking[1][1] if len(p.ranking) > 1 else 0.0)
        out.append("nlu_fallback" if top < threshold or top - second < ambiguity else name)
    return out


def scores(truth: list[str], guessed: list[str]) -> tuple[float, float]:
    """Accuracy and macro-F1 (over the intents present) of guessed intents; labels count by their base intent
    (faq/refund_time is faq) and a fallback counts as wrong."""
    from sklearn.metrics import f1_score

    base = [t.split("/")[0] for t in truth]
    accuracy = sum(t == g for t, g in zip(base, guessed, strict=True)) / len(base)
    return accuracy, float(f1_score(base, guessed, labels=sorted(set(base)), average="macro", zero_division=0))


def fold_score(root: Path = ROOT) -> dict[str, float]:
    """Accuracy and macro-F1 on the held-out fold of data/nlu (a fallback counts as wrong)."""
    from sklearn.model_selection import StratifiedKFold

    from bot.nlu.linear_intents import build_model, predict

    texts, labels = training_set(root)
    config, threshold = _classifier_config(root)
    train, test = list(StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(texts, labels))[FOLD]
    model = build_model(config).fit([texts[i] for i in train], [labels[i] for i in train])
    guessed = with_fallback(predict(model, [texts[i] for i in test]), threshold)
    accuracy, macro_f1 = scores([labels[i] for i in test], guessed)
    return {"accuracy": round(accuracy, 4), "macro_f1": round(macro_f1, 4)}


def _registry() -> Path:
    return get_settings().var_dir / "eval" / "folds.json"


def recorded(model_name: str) -> dict[str, float] | None:
    """The fold score recorded for a model when it was gated, if any."""
    path = _registry()
    scores = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return scores.get(model_name)


def record(model_name: str, score: dict[str, float]) -> None:
    """Remember a model's fold score (written atomically)."""
    path = _registry()
    path.parent.mkdir(parents=True, exist_ok=True)
    scores = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    scores[model_name] = score
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(scores, indent=1), encoding="utf-8")
    partial.replace(path)
