"""One HTML page a trainer can open: headline numbers, intents worst first, confusion pairs, misclassified
examples and the confusion matrix, for the held-in test set and (when run) cross-validation; and the unseen set
with its robustness transforms, as figures only: no unseen line is shown, so none is written into training.

The pictures are embedded (base64), so the page is one file that can be mailed or served as it is.

On the command line, the headline of one `rasa test nlu` folder (intent accuracy, macro-F1, the weakest intents
and the top confusion pairs; what bin/test prints after the held-in set):

    python -m bot.trainer.report results/nlu
"""

from __future__ import annotations

import base64
import sys
from datetime import datetime, timezone
from html import escape
from pathlib import Path

from bot.trainer.evaluate import Metrics, load_metrics, print_summary
from bot.trainer.unseen import Score

MAX_EXAMPLES = 60
STYLE = """
body{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;margin:2rem;color:#222;max-width:72rem}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}.bad{background:#fde8e8}
.warn{background:#fff6db}img{max-width:100%;border:1px solid #ddd}h2{margin-top:2.5rem}.muted{color:#777}
"""


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _img(path: Path, alt: str) -> str:
    if not path.exists():
        return f'<p class="muted">({escape(alt)}: no picture was produced)</p>'
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _grade(f1: float) -> str:
    return "bad" if f1 < 0.8 else "warn" if f1 < 0.95 else ""


def _row(cells: list[str], cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f"<tr{attr}>" + "".join(cells) + "</tr>"


def _headline(runs: list[tuple[str, Metrics]]) -> str:
    rows = [_row([f"<td>{escape(title)}</td>", f'<td class="num">{_pct(m.accuracy)}</td>',
                  f'<td class="num">{m.macro_f1:.3f}</td>', f'<td class="num">{m.weighted_f1:.3f}</td>',
                  f'<td class="num">{m.examples}</td>', f'<td class="num">{len(m.errors)}</td>'])
            for title, m in runs]
    return ("<table><tr><th>evaluation</th><th>intent accuracy</th><th>macro-F1</th><th>weighted-F1</th>"
            "<th>examples</th><th>wrong</th></tr>" + "".join(rows) + "</table>")


def _intents(held_in: Metrics, cv: Metrics | None) -> str:
    head = "<tr><th>intent</th><th>examples</th><th>precision</th><th>recall</th><th>F1</th>"
    head += "<th>F1 (cross-validation)</th>" if cv else ""
    head += "<th>confused with</th></tr>"
    confused: dict[str, list[str]] = {}
    for c in held_in.confusions:
        confused.setdefault(c.expected, []).append(f"{c.predicted} ×{c.count}")
    def cv_f1(name: str) -> float | None:
        return cv.per_intent.get(name, {}).get("f1") if cv else None

    rows = []
    # ties on the held-in set (most intents score 1.00 there) are broken by cross-validation
    for name, v in sorted(held_in.per_intent.items(), key=lambda kv: (kv[1]["f1"], cv_f1(kv[0]) or 0, kv[0])):
        cells = [f"<td>{escape(name)}</td>", f'<td class="num">{v["support"]}</td>',
                 f'<td class="num">{v["precision"]:.2f}</td>', f'<td class="num">{v["recall"]:.2f}</td>',
                 f'<td class="num">{v["f1"]:.2f}</td>']
        if cv:
            f1 = cv_f1(name)
            cells.append("<td></td>" if f1 is None else f'<td class="num {_grade(f1)}">{f1:.2f}</td>')
        cells.append(f"<td>{escape(', '.join(confused.get(name, [])))}</td>")
        rows.append(_row(cells, _grade(v["f1"])))
    return "<table>" + head + "".join(rows) + "</table>"


def _confusions(m: Metrics) -> str:
    if not m.confusions:
        return "<p>No intent was confused.</p>"
    rows = [_row([f"<td>{escape(c.expected)}</td>", f"<td>{escape(c.predicted)}</td>",
                  f'<td class="num">{c.count}</td>']) for c in m.confusions[:15]]
    return "<table><tr><th>expected</th><th>predicted</th><th>times</th></tr>" + "".join(rows) + "</table>"


def _examples(m: Metrics) -> str:
    if not m.errors:
        return "<p>Every example was classified correctly.</p>"
    rows = [_row([f"<td>{escape(e['text'])}</td>", f"<td>{escape(e['intent'])}</td>",
                  f"<td>{escape(str(e['intent_prediction']['name']))}</td>",
                  f'<td class="num">{e["intent_prediction"]["confidence"]:.2f}</td>'])
            for e in m.errors[:MAX_EXAMPLES]]
    more = f'<p class="muted">{len(m.errors) - MAX_EXAMPLES} more in intent_errors.json</p>' \
        if len(m.errors) > MAX_EXAMPLES else ""
    return ("<p class=\"muted\">Most confident mistakes first: those are the ones the fallback does not catch.</p>"
            "<table><tr><th>text</th><th>expected</th><th>predicted</th><th>confidence</th></tr>"
            + "".join(rows) + "</table>" + more)


def _section(title: str, m: Metrics) -> str:
    return (f"<h2>{escape(title)}</h2><h3>Confusion pairs</h3>{_confusions(m)}"
            f"<h3>Misclassified examples</h3>{_examples(m)}"
            f"<h3>Confusion matrix</h3>{_img(m.results_dir / 'intent_confusion_matrix.png', 'confusion matrix')}"
            f"<h3>Confidence of predictions</h3>{_img(m.results_dir / 'intent_histogram.png', 'histogram')}")


def _unseen(scores: dict[str, Score]) -> str:
    clean = scores["clean"]
    rows = [_row([f"<td>{escape(name)}</td>", f'<td class="num">{_pct(s.accuracy)}</td>',
                  f'<td class="num">{s.macro_f1:.3f}</td>',
                  f'<td class="num">{s.accuracy / clean.accuracy if clean.accuracy else 0:.2f}</td>',
                  f'<td class="num">{_pct(s.out_of_scope_routed)}</td>'],
                 "bad" if clean.accuracy and s.accuracy < 0.95 * clean.accuracy else "")
            for name, s in scores.items()]
    intents = [_row([f"<td>{escape(name)}</td>", f'<td class="num {_grade(f1)}">{f1:.2f}</td>'])
               for name, f1 in sorted(clean.per_intent_f1.items(), key=lambda kv: kv[1])]
    return ("<h2>Unseen set (tests/nlu/unseen.yml) and robustness</h2>"
            f"<p class=\"muted\">{clean.examples} messages written blind, never trained on. Each is also parsed "
            "in traditional characters, with an emoji, in full-width, without punctuation and with a homophone typo. "
            "A fallback counts as wrong. Only figures are shown: write new examples from the inbox, not from "
            "this set.</p><table><tr><th>messages</th><th>intent accuracy</th><th>macro-F1</th>"
            "<th>× clean</th><th>out-of-scope routed</th></tr>" + "".join(rows) + "</table>"
            f"<p>faq answer chosen right: {_pct(clean.faq_key_accuracy)}</p>"
            "<table><tr><th>intent</th><th>F1 (unseen)</th></tr>" + "".join(intents) + "</table>")


def render(*, held_in: Metrics, cv: Metrics | None = None, model_name: str = "", folds: int | None = None,
           unseen: dict[str, Score] | None = None) -> str:
    runs = [("held-in test set (tests/nlu/test_nlu.yml)", held_in)]
    if cv:
        runs.append((f"{folds or ''}-fold cross-validation (data/nlu)".lstrip("-"), cv))
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>NLU evaluation</title>"
             f"<style>{STYLE}</style><h1>NLU evaluation</h1>"
             f"<p class=\"muted\">model {escape(model_name)} · {when}</p>", _headline(runs),
             "<h2>Intents, worst first</h2>", _intents(held_in, cv)]
    if unseen:
        parts.append(_unseen(unseen))
    parts += [_section(title, m) for title, m in runs]
    return "".join(parts) + "</html>\n"


def write_report(path: Path, *, held_in: Metrics, cv: Metrics | None = None, model_name: str = "",
                 folds: int | None = None, unseen: dict[str, Score] | None = None) -> Path:
    """Write the report to `path` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(held_in=held_in, cv=cv, model_name=model_name, folds=folds, unseen=unseen),
                    encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    results_dir = Path(args[0] if args else "results/nlu")
    print_summary(str(results_dir), load_metrics(results_dir))


if __name__ == "__main__":
    main()
