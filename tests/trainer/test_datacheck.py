"""The data checks catch planted problems in a copy of the project, and pass on the project as it is."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.trainer import datacheck
from bot.trainer.datacheck import Finding, check_rasa_validate, main, rasa_messages, run_checks
from bot.trainer.datacheck_load import Segmenter, jieba_dictionary_path, load_nlu, nlu_files, nlu_normaliser, normalise

ROOT = Path(__file__).resolve().parents[2]

PLANTED_NLU = """version: "3.1"

nlu:
  - intent: cancel_request
    examples: |
      - 我要退款！
  - intent: report_missing_item
    examples: |
      - 有一支笔坏掉了吧
  - intent: lonely
    examples: |
      - 这句话只在这里出现一次
  - intent: report_damaged
    examples: |
      - [马克](item)杯碎了
      - 盒子被压扁了，里面的东西也碎了
      - 盒子被压扁了，里面的东西也碎了。
      - 有一支笔坏掉了
  - synonym: 台灯
    examples: |
      - 床头灯
  - lookup: brand
    examples: |
      - 得力
      - 暖手宝
"""

PLANTED_TEST = """  - intent: report_damaged
    examples: |
      - 有一支[笔](item)坏了
      - [马克](item)杯裂了
"""


def _copy_project(target: Path) -> None:
    shutil.copytree(ROOT / "data", target / "data")
    shutil.copytree(ROOT / "tests" / "nlu", target / "tests" / "nlu")
    for name in ("domain.yml", "config.yml"):
        shutil.copy2(ROOT / name, target / name)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project with one problem of each kind planted (read-only for the tests)."""
    root = tmp_path_factory.mktemp("planted")
    _copy_project(root)
    (root / "data" / "nlu" / "planted.yml").write_text(PLANTED_NLU, encoding="utf-8")
    with (root / datacheck.TEST_SET).open("a", encoding="utf-8") as test_set:
        test_set.write(PLANTED_TEST)
    return root


@pytest.fixture(scope="module")
def planted_findings(planted: Path) -> list[Finding]:
    findings, _ = run_checks(planted, rasa=False)
    return findings


def _one(findings: list[Finding], check: str, *needles: str) -> Finding:
    matching = [f for f in findings if f.check == check and all(n in f.message for n in needles)]
    assert len(matching) == 1, (check, needles, [f for f in findings if f.check == check])
    return matching[0]


def test_example_under_two_intents_is_an_error_with_both_places(planted_findings: list[Finding]) -> None:
    finding = _one(planted_findings, "conflict", "我要退款")
    assert finding.severity == "error"
    assert "request_refund (data/nlu/refund.yml:" in finding.message
    assert "cancel_request (data/nlu/planted.yml:6)" in finding.message


def test_repeated_example_under_one_intent_is_a_warning(planted_findings: list[Finding]) -> None:
    finding = _one(planted_findings, "repeat", "盒子被压扁了")
    assert finding.severity == "warning"
    assert "data/nlu/planted.yml:16, data/nlu/planted.yml:17" in finding.message


def test_near_duplicate_across_intents_is_a_warning(planted_findings: list[Finding]) -> None:
    pair = ("「有一支笔坏掉了」 report_damaged", "「有一支笔坏掉了吧」 report_missing_item")
    finding = _one(planted_findings, "near", *pair)
    assert finding.severity == "warning"
    assert finding.message.startswith("0.93 ")


def test_intent_with_one_example_is_an_error(planted_findings: list[Finding]) -> None:
    finding = _one(planted_findings, "count", "lonely: 1 example")
    assert finding.severity == "error"


def test_entity_inside_a_jieba_token_is_an_error_showing_the_segmentation(planted_findings: list[Finding]) -> None:
    finding = _one(planted_findings, "alignment", "[马克](item)", "马克杯碎了")
    assert finding.severity == "error"
    assert "马克杯/碎了" in finding.message
    assert "data/nlu/planted.yml:15" in finding.message
    in_test_set = _one(planted_findings, "alignment", "[马克](item)", "tests/nlu/test_nlu.yml:")
    assert in_test_set.severity == "error"
    assert "马克杯/裂了" in in_test_set.message


def test_unused_synonym_and_lookup_entries_are_warnings(planted_findings: list[Finding]) -> None:
    synonym = _one(planted_findings, "unused", "synonym 台灯")
    assert synonym.severity == "warning"
    assert "床头灯" in synonym.message
    assert synonym.message.count("台灯") == 1, "台灯 itself occurs in examples"
    lookup = _one(planted_findings, "unused", "lookup brand: 2 of 2 entries", "得力", "暖手宝")
    assert lookup.severity == "warning"


def test_lookup_entry_jieba_splits_is_a_warning(planted_findings: list[Finding]) -> None:
    finding = _one(planted_findings, "split", "lookup brand", "暖手/宝")
    assert finding.severity == "warning"
    assert "得力" not in finding.message


def test_test_example_copied_from_training_is_a_leak_warning(planted_findings: list[Finding]) -> None:
    finding = _one(planted_findings, "leak", "有一支笔坏了")
    assert finding.severity == "warning"
    assert "tests/nlu/test_nlu.yml:" in finding.message
    lines = (ROOT / "data" / "nlu" / "report_damaged.yml").read_text(encoding="utf-8").splitlines()
    where = next(n for n, line in enumerate(lines, start=1) if line.strip() == "- 有一支[笔](item)坏了")
    assert f"data/nlu/report_damaged.yml:{where}" in finding.message


def test_cli_fails_on_the_planted_copy(planted: Path) -> None:
    lines: list[str] = []
    assert main(["--root", str(planted), "--no-rasa"], out=lines.append) == 1
    report = lines[0]
    assert "rasa data validate --fail-on-warnings: skipped" in report
    assert report.splitlines()[-1].startswith("4 errors, ")  # conflict, one-example intent, two misaligned entities


def test_real_project_passes_and_strict_reports_warnings_as_failures() -> None:
    lines: list[str] = []
    assert main(["--root", str(ROOT), "--no-rasa"], out=lines.append) == 0
    assert lines[0].splitlines()[-1].startswith("0 errors, ")
    findings, _ = run_checks(ROOT, rasa=False)
    if any(f.severity == "warning" for f in findings):
        assert main(["--root", str(ROOT), "--no-rasa", "--strict"], out=lambda _: None) == 1


_PIPELINE_TOKENS = """
import json, sys
from rasa.shared.nlu.training_data.message import Message
from bot.nlu.jieba_tokenizer import JiebaTokenizer
config = {**JiebaTokenizer.get_default_config(), "dictionary_path": sys.argv[1]}
tokenizer = JiebaTokenizer.create(config, None, None, None)  # storage is only used to persist
texts = json.load(sys.stdin)
print(json.dumps([[(t.text, t.start, t.end) for t in tokenizer.tokenize(Message({"text": x}), "text")]
                  for x in texts]))
"""


def test_segmenter_tokenises_exactly_like_the_pipelines_jieba_tokenizer() -> None:
    # in a fresh process: the tokenizer loads the dictionary into the global jieba, which other tests change
    dictionary = ROOT / jieba_dictionary_path(ROOT)
    examples = load_nlu(ROOT, nlu_files(ROOT)).examples
    texts = [nlu_normaliser().text(e.text) for e in examples]  # what the tokenizer sees, after the normaliser
    done = subprocess.run([sys.executable, "-c", _PIPELINE_TOKENS, str(dictionary)], input=json.dumps(texts),
                          capture_output=True, text=True, check=True, cwd=ROOT)
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    ours = Segmenter(dictionary)
    for example, text, tokens in zip(examples, texts, theirs, strict=True):
        assert ours.tokens(text) == [tuple(t) for t in tokens], example


def test_normalise_drops_case_width_whitespace_and_trailing_punctuation() -> None:
    assert normalise("算了 不退了！！") == normalise("算了不退了") == "算了不退了"
    assert normalise("ＯＫ") == normalise("ok")
    assert normalise("？") == "?"  # nothing but punctuation stays itself, not ""


def test_rasa_output_is_parsed_and_the_retrieval_intent_note_ignored() -> None:
    output = (
        "\x1b[93m/x/rasa/shared/utils/io.py:100: UserWarning: The following duplicated intents have been found "
        "across multiple domain files: faq\n  More info at https://rasa.com/docs/rasa/domain\n\x1b[0m"
        "/x/rasa/shared/utils/io.py:100: UserWarning: The example '我要退款' was found labeled with multiple "
        "different intents\n"
        "2026-11-23 12:16:40 WARNING  rasa.validator  - Story structure conflict after intent 'greet'\n"
        "2026-11-23 12:16:40 INFO     rasa.validator  - Validating intents...\n"
    )
    messages = rasa_messages(output)
    assert messages[0].endswith("multiple domain files: faq")
    assert messages[1].startswith("The example '我要退款'")
    assert messages[2].startswith("Story structure conflict")
    assert len(messages) == 3
    assert datacheck._is_retrieval_intent_note(messages[0], {"faq"})
    assert not datacheck._is_retrieval_intent_note(messages[0], set())
    assert not datacheck._is_retrieval_intent_note(messages[1], {"faq"})


def test_rasa_validate_failure_is_an_error(planted: Path) -> None:
    """The one test that runs the real (slow) `rasa data validate`."""
    findings = check_rasa_validate(planted, {"faq"})
    assert [f.severity for f in findings] == ["error"]
    assert "exited with 1" in findings[0].message
    assert "lonely" in findings[0].message  # an intent missing from the domain
    assert "duplicated intents" not in findings[0].message


def test_an_intent_without_a_rule_is_an_error_although_rasa_exits_0(tmp_path: Path) -> None:
    """Rasa 3.6 prints this warning yet exits 0 under --fail-on-warnings; the check must not let it pass."""
    from bot.trainer.nlu_files import add_example

    _copy_project(tmp_path)
    add_example(tmp_path, intent="ask_invoice", text="能开发票吗")
    findings = check_rasa_validate(tmp_path, {"faq"})
    assert [(f.severity, "ask_invoice" in f.message and "not used in any story" in f.message) for f in findings] == [
        ("error", True)
    ]
