"""Print intent accuracy and macro-F1 from a `rasa test nlu` output folder.

    python -m bot.nlu_report results/nlu
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def summary(results_dir: Path) -> dict[str, float]:
    report = json.loads((results_dir / "intent_report.json").read_text(encoding="utf-8"))
    return {
        "accuracy": float(report["accuracy"]),
        "macro_f1": float(report["macro avg"]["f1-score"]),
        "weighted_f1": float(report["weighted avg"]["f1-score"]),
        "examples": float(report["macro avg"]["support"]),
    }


def worst_intents(results_dir: Path, n: int = 5) -> list[tuple[str, float]]:
    report = json.loads((results_dir / "intent_report.json").read_text(encoding="utf-8"))
    scores = [(name, float(v["f1-score"])) for name, v in report.items() if isinstance(v, dict)
              and name not in ("macro avg", "weighted avg", "micro avg")]
    return sorted(scores, key=lambda item: item[1])[:n]


def main() -> None:
    results_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "results/nlu")
    s = summary(results_dir)
    print(f"intent accuracy {s['accuracy']:.3f}  macro-F1 {s['macro_f1']:.3f}  "
          f"weighted-F1 {s['weighted_f1']:.3f}  ({int(s['examples'])} examples)")
    print("weakest intents: " + ", ".join(f"{name} {f1:.2f}" for name, f1 in worst_intents(results_dir)))


if __name__ == "__main__":
    main()
