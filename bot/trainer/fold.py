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

import yaml

from bot.settings import ROOT, get_settings

FOLDS = 5
FOLD = 0
SEED = 0


def _classifier_config(root: Path) -> tuple[dict[str, object], float]:
    """The LinearIntentClassifier's settings and the fallback threshold, as config.yml gives them."""
    from bot.nlu.linear_intents import LinearIntentClassifier

    pipeline = (yaml.safe_load((root / "config.yml").read_text(encoding="utf-8")) or {}).get("pipeline") or []
    config: dict[str, object] = dict(LinearIntentClassifier.get_default_config())
    threshold = 0.0
    for component in pipeline:
        name = str(component.get("name", ""))
        if name.endswith("LinearIntentClassifier"):
            config.update({k: v for k, v in component.items() if k != "name"})
        elif name == "FallbackClassifier":
            threshold = float(component.get("threshold", 0.0))
    return config, threshold


def fold_score(root: Path = ROOT) -> dict[str, float]:
    """Accuracy and macro-F1 on the held-out fold of data/nlu (a fallback counts as wrong)."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    from bot.nlu.linear_intents import build_model, predict
    from bot.trainer.datacheck_load import load_nlu, nlu_files, nlu_normaliser

    examples = load_nlu(root, nlu_files(root)).examples
    texts = [nlu_normaliser().text(e.text) for e in examples]
    labels = [e.label for e in examples]
    config, threshold = _classifier_config(root)
    train, test = list(StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(texts, labels))[FOLD]
    model = build_model(config).fit([texts[i] for i in train], [labels[i] for i in train])
    guessed = [p.ranking[0][0] if p.ranking[0][1] >= threshold else "nlu_fallback"
               for p in predict(model, [texts[i] for i in test])]
    truth = [labels[i].split("/")[0] for i in test]
    accuracy = sum(t == g for t, g in zip(truth, guessed, strict=True)) / len(truth)
    macro_f1 = f1_score(truth, guessed, labels=sorted(set(truth)), average="macro", zero_division=0)
    return {"accuracy": round(accuracy, 4), "macro_f1": round(float(macro_f1), 4)}


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
