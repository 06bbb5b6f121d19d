"""The unseen set and its robustness transforms, parsed by one model loaded once.

The unseen set (tests/nlu/unseen.yml) was written blind, by a writer who had not read data/nlu; its lines never
enter training (bin/check-data refuses a copy). Each message is also parsed after every transform in
bot.trainer.robustness: a shopper's message keeps its meaning in traditional characters, with an emoji, in
full-width, without punctuation or with a homophone typo.

    python -m bot.trainer.unseen [--model PATH] [--out results/unseen.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.settings import ROOT
from bot.trainer.robustness import TRANSFORMS

UNSEEN = ROOT / "tests" / "nlu" / "unseen.yml"
# Where a question the bot does not handle may go: the out-of-scope answer or the fallback (both offer a human).
OUT_OF_SCOPE_ROUTES = ("out_of_scope", "nlu_fallback")


@dataclass(frozen=True)
class Example:
    text: str
    intent: str  # the full label, e.g. faq/refund_time

    @property
    def base(self) -> str:
        return self.intent.split("/", 1)[0]


@dataclass
class Score:
    """Intent accuracy and macro-F1 over one list of messages (retrieval intents scored as their base)."""

    accuracy: float
    macro_f1: float
    examples: int
    out_of_scope_routed: float  # share of out_of_scope messages that reached out_of_scope or the fallback
    faq_key_accuracy: float  # share of faq/* messages answered with the right faq answer
    per_intent_f1: dict[str, float] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)


def load_examples(path: Path = UNSEEN) -> list[Example]:
    """The labelled messages of a Rasa NLU YAML file (full retrieval labels kept)."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [Example(m.get("text"), m.get_full_intent()) for m in data.intent_examples]


def predicted(parse: dict[str, Any]) -> tuple[str, str | None, float]:
    """(intent, faq answer key or None, confidence) of one Rasa parse."""
    intent = (parse.get("intent") or {}).get("name") or "nlu_fallback"
    key = None
    if intent == "faq":
        selected = (parse.get("response_selector") or {}).get("faq") or {}
        key = (selected.get("response") or {}).get("intent_response_key")
    return intent, key, float((parse.get("intent") or {}).get("confidence") or 0.0)


def score(examples: list[Example], parses: list[dict[str, Any]]) -> Score:
    """Accuracy, macro-F1 over the labels present, out-of-scope routing and faq answer accuracy."""
    from sklearn.metrics import f1_score

    from bot.trainer.fold import scores

    truth = [e.base for e in examples]
    guesses = [predicted(p) for p in parses]
    names = [g[0] for g in guesses]
    labels = sorted(set(truth))
    per_intent = f1_score(truth, names, labels=labels, average=None, zero_division=0)
    accuracy, macro_f1 = scores(truth, names)
    oos = [n for e, n in zip(examples, names, strict=True) if e.base == "out_of_scope"]
    faq = [(e, g) for e, g in zip(examples, guesses, strict=True) if e.base == "faq"]
    errors = [
        {"text": e.text, "intent": e.intent, "predicted": g[1] or g[0], "confidence": round(g[2], 3)}
        for e, g in zip(examples, guesses, strict=True) if g[0] != e.base
    ]
    return Score(
        accuracy=accuracy,
        macro_f1=macro_f1,
        examples=len(examples),
        out_of_scope_routed=sum(n in OUT_OF_SCOPE_ROUTES for n in oos) / len(oos) if oos else 1.0,
        faq_key_accuracy=sum(g[1] == e.intent for e, g in faq) / len(faq) if faq else 1.0,
        per_intent_f1={name: round(float(f1), 4) for name, f1 in zip(labels, per_intent, strict=True)},
        errors=sorted(errors, key=lambda e: -e["confidence"]),
    )


async def _parse_all(model: Path, texts: list[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    return [await agent.parse_message(text) for text in texts]


def evaluate(model: Path, examples: list[Example], *, seed: int = 0) -> dict[str, Score]:
    """Scores of the clean messages and of every transform, by one model loaded once."""
    sets = {"clean": [e.text for e in examples]}
    sets.update({name: [f(e.text, seed) for e in examples] for name, f in TRANSFORMS.items()})
    flat = [t for texts in sets.values() for t in texts]
    parses = asyncio.run(_parse_all(model, flat))
    n = len(examples)
    return {name: score(examples, parses[i * n:(i + 1) * n]) for i, name in enumerate(sets)}


def print_scores(scores: dict[str, Score]) -> None:
    clean = scores["clean"]
    print(f"unseen set ({clean.examples} messages): intent accuracy {clean.accuracy:.3f}  macro-F1 "
          f"{clean.macro_f1:.3f}  out-of-scope routed {clean.out_of_scope_routed:.3f}  "
          f"faq answer {clean.faq_key_accuracy:.3f}")
    for name, s in scores.items():
        if name != "clean":
            ratio = s.accuracy / clean.accuracy if clean.accuracy else 0.0
            print(f"  {name:15s} accuracy {s.accuracy:.3f}  ({ratio:.2f} x clean)")
    worst = sorted(clean.per_intent_f1.items(), key=lambda kv: kv[1])[:6]
    print("  weakest intents: " + ", ".join(f"{k} {v:.2f}" for k, v in worst))
    confusions = Counter((e["intent"].split("/")[0], e["predicted"].split("/")[0]) for e in clean.errors)
    print("  top confusions:  " + "; ".join(f"{a} → {b} ×{c}" for (a, b), c in confusions.most_common(6)))


def main(argv: list[str] | None = None) -> None:
    from bot.trainer.model_files import ModelStore

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="model archive (default: the live one)")
    parser.add_argument("--set", type=Path, default=UNSEEN, help="labelled messages (default: the unseen set)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "unseen.json")
    args = parser.parse_args(argv)
    model = args.model or ModelStore.default().newest()
    if model is None:
        raise SystemExit("no model in models/: run bin/setup first")
    started = time.monotonic()
    scores = evaluate(model, load_examples(args.set))
    print_scores(scores)
    print(f"  took {time.monotonic() - started:.0f}s (model {model.name})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"model": model.name, **{k: asdict(v) for k, v in scores.items()}},
                                   ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
