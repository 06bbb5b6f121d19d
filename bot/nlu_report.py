"""Print intent accuracy, macro-F1, the weakest intents and the top confusion pairs of a `rasa test nlu` folder.

    python -m bot.nlu_report results/nlu

The full report (bin/eval-nlu) is written by bot.trainer.report.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.trainer.evaluate import load_metrics, print_summary


def main() -> None:
    results_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "results/nlu")
    print_summary(str(results_dir), load_metrics(results_dir))


if __name__ == "__main__":
    main()
