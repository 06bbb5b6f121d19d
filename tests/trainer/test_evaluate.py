"""Evaluation metrics and the trainer's report: unit tests on a small results folder, and one real
`rasa test nlu` run of the trained model (about a minute), shared by the tests that need it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.trainer import evaluate
from bot.trainer.evaluate import Confusion, Metrics, confusion_pairs, evaluate_model, load_metrics
from bot.trainer.report import render, write_report

ERRORS = [
    {"text": "退款怎么弄", "intent": "request_refund", "intent_prediction": {"name": "faq", "confidence": 0.99}},
    {"text": "退钱吧", "intent": "choose_refund", "intent_prediction": {"name": "request_refund", "confidence": 0.54}},
    {"text": "钱退我", "intent": "choose_refund", "intent_prediction": {"name": "request_refund", "confidence": 0.61}},
]
REPORT = {
    "request_refund": {"precision": 0.8, "recall": 0.75, "f1-score": 0.77, "support": 4, "confused_with": {}},
    "choose_refund": {"precision": 1.0, "recall": 0.5, "f1-score": 0.67, "support": 4, "confused_with": {}},
    "faq": {"precision": 0.9, "recall": 1.0, "f1-score": 0.95, "support": 9, "confused_with": {}},
    "accuracy": 0.82,
    "macro avg": {"precision": 0.9, "recall": 0.75, "f1-score": 0.80, "support": 17},
    "weighted avg": {"precision": 0.9, "recall": 0.82, "f1-score": 0.83, "support": 17},
}


@pytest.fixture
def small_results(tmp_path: Path) -> Path:
    (tmp_path / "intent_report.json").write_text(json.dumps(REPORT), encoding="utf-8")
    (tmp_path / "intent_errors.json").write_text(json.dumps(ERRORS, ensure_ascii=False), encoding="utf-8")
    return tmp_path


def test_confusion_pairs_are_counted_most_frequent_first() -> None:
    pairs = confusion_pairs(ERRORS)
    assert pairs == [Confusion("choose_refund", "request_refund", 2), Confusion("request_refund", "faq", 1)]
    assert str(pairs[0]) == "choose_refund → request_refund ×2"


def test_metrics_from_a_results_folder(small_results: Path) -> None:
    m = load_metrics(small_results)
    assert (m.accuracy, m.macro_f1, m.weighted_f1, m.examples) == (0.82, 0.80, 0.83, 17)
    assert set(m.per_intent) == {"request_refund", "choose_refund", "faq"}
    assert m.worst(2) == [("choose_refund", 0.67), ("request_refund", 0.77)]
    assert [e["text"] for e in m.errors] == ["退款怎么弄", "钱退我", "退钱吧"]  # most confident mistakes first
    assert m.headline() == {"accuracy": 0.82, "macro_f1": 0.8}


def test_report_lists_intents_worst_first_and_escapes_text(small_results: Path) -> None:
    m = load_metrics(small_results)
    m.errors[0]["text"] = "<script>alert(1)</script>"
    page = render(held_in=m, model_name="m.tar.gz")
    assert page.index(">choose_refund<") < page.index(">request_refund<") < page.index(">faq<")
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "confusion matrix: no picture was produced" in page


def test_the_held_in_results_are_cached_per_model_and_test_set(tmp_path: Path, small_results: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "20261123-000000-x.tar.gz"
    model.write_bytes(b"model")
    test_set = tmp_path / "test.yml"
    test_set.write_text("version: '3.1'\n", encoding="utf-8")
    calls = []

    def fake_rasa(args: list[str], out: Path, log_file: Path) -> None:
        calls.append(args)
        out.mkdir(parents=True)
        for name in ("intent_report.json", "intent_errors.json"):
            (out / name).write_bytes((small_results / name).read_bytes())

    monkeypatch.setattr(evaluate, "_run_rasa", fake_rasa)
    cache = tmp_path / "cache"
    first = evaluate_model(model, cache_dir=cache, test_set=test_set)
    again = evaluate_model(model, cache_dir=cache, test_set=test_set)
    assert len(calls) == 1 and first.results_dir == again.results_dir and again.accuracy == 0.82
    test_set.write_text("version: '3.1'\nnlu: []\n", encoding="utf-8")  # a changed test set is evaluated again
    evaluate_model(model, cache_dir=cache, test_set=test_set)
    assert len(calls) == 2


# -- one real `rasa test nlu` run ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def held_in(real_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Metrics:
    return evaluate_model(real_model, cache_dir=tmp_path_factory.mktemp("eval"))


@pytest.mark.e2e
def test_rasa_test_nlu_gives_metrics_and_pictures(held_in: Metrics) -> None:
    assert held_in.examples == 183
    assert 0.8 < held_in.accuracy <= 1.0 and 0.8 < held_in.macro_f1 <= 1.0
    assert len(held_in.errors) == sum(c.count for c in held_in.confusions)
    for picture in ("intent_confusion_matrix.png", "intent_histogram.png"):
        assert (held_in.results_dir / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.e2e
def test_report_from_a_real_run_embeds_the_confusion_matrix(held_in: Metrics, tmp_path: Path) -> None:
    page = write_report(tmp_path / "report.html", held_in=held_in, model_name="live.tar.gz").read_text()
    assert page.count("data:image/png;base64,") == 2
    assert f"{100 * held_in.accuracy:.1f}%" in page
    for pair in held_in.confusions[:3]:
        assert f"<td>{pair.expected}</td><td>{pair.predicted}</td>" in page
    for error in held_in.errors[:3]:
        assert error["text"] in page


@pytest.mark.e2e
def test_report_prints_the_summary_of_a_results_folder(held_in: Metrics) -> None:
    out = subprocess.run([sys.executable, "-m", "bot.trainer.report", str(held_in.results_dir)], capture_output=True,
                         text=True, check=True).stdout
    assert f"intent accuracy {held_in.accuracy:.3f}" in out and f"macro-F1 {held_in.macro_f1:.3f}" in out
    if held_in.confusions:
        assert str(held_in.confusions[0]) in out
