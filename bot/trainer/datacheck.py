"""Training-data checks for trainers and CI: `rasa data validate` plus our own checks of data/nlu against jieba,
the dictionary and the held-in test set.

    python -m bot.trainer.datacheck [--root .] [--no-rasa] [--strict]      (bin/check-data)

Prints a report grouped by check and exits 1 when there are errors (with --strict, warnings too).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Literal

from bot.trainer.datacheck_load import (
    Example,
    NluData,
    Segmenter,
    jieba_dictionary_path,
    load_nlu,
    nlu_files,
    nlu_normaliser,
    normalise,
)

# Rasa cannot split an intent with one example into cross-validation folds; Rasa's FAQ suggests ten to start with.
MIN_EXAMPLES_ERROR = 2
MIN_EXAMPLES_WARNING = 10
# difflib ratio 2*matches/total_length. 0.85 flags one extra character in a text of three or more characters
# ("退款多久到账" / "退款多久到账呢") or one changed character in seven or more, but not two-character
# differences in short texts ("退款" / "要退款" is 0.8), which in Chinese usually change the meaning.
NEAR_DUPLICATE_RATIO = 0.85
# Texts that differ only around a negation ("是这个" / "不是这个") are deliberate contrast pairs, not duplicates.
NEGATIONS = frozenset("不没别未无非")
MAX_SHOWN = 12  # findings shown per check
MAX_LISTED = 30  # words listed in one finding

TEST_SET = "tests/nlu/test_nlu.yml"
# Written blind and never trained on: a copy in data/nlu is an error, and only the training line is shown.
UNSEEN_SET = "tests/nlu/unseen.yml"
RASA_VALIDATE = ("data", "validate", "--fail-on-warnings", "--config", "config.yml", "--domain", "domain.yml",
                 "--data", "data")

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    check: str
    severity: Severity
    message: str


# (key, title) in report order.
CHECKS = (
    ("rasa", "rasa data validate --fail-on-warnings"),
    ("conflict", "same example under two intents"),
    ("repeat", "same example twice under one intent"),
    ("near", f"near-duplicates across intents (difflib ratio >= {NEAR_DUPLICATE_RATIO})"),
    ("count", f"intents with too few examples (error < {MIN_EXAMPLES_ERROR}, warning < {MIN_EXAMPLES_WARNING})"),
    ("alignment", "entities not on jieba token boundaries (Rasa mis-trains them)"),
    ("split", "lookup and synonym words jieba does not keep as one token"),
    ("unused", "synonyms and lookup entries that occur in no example"),
    ("leak", f"held-in test examples ({TEST_SET}) that are also training examples"),
    ("unseen", f"training examples copied from the unseen set ({UNSEEN_SET})"),
)


def _quote(example: Example) -> str:
    return f"「{example.text}」 {example.label} ({example.where})"


def check_conflicts(data: NluData) -> list[Finding]:
    """The same text (normalised) labelled with two intents or retrieval sub-intents: an error."""
    by_text: dict[str, list[Example]] = defaultdict(list)
    for example in data.examples:
        by_text[normalise(example.text)].append(example)
    findings = []
    for examples in by_text.values():
        first_per_label = {e.label: e for e in reversed(examples)}
        if len(first_per_label) > 1:
            shown = " vs ".join(_quote(e) for e in first_per_label.values())
            findings.append(Finding("conflict", "error", shown))
    return findings


def check_repeats(data: NluData) -> list[Finding]:
    """The same text (normalised) twice under one label: harmless for training but weights it double."""
    by_key: dict[tuple[str, str], list[Example]] = defaultdict(list)
    for example in data.examples:
        by_key[(normalise(example.text), example.label)].append(example)
    findings = []
    for group in by_key.values():
        if len(group) > 1:
            variants = " / ".join(f"「{text}」" for text in dict.fromkeys(e.text for e in group))
            places = ", ".join(e.where for e in group)
            findings.append(Finding("repeat", "warning", f"{variants} {len(group)}x under {group[0].label} ({places})"))
    return findings


def _differs_by_negation(matcher: SequenceMatcher[str]) -> bool:
    a, b = matcher.a, matcher.b  # type: ignore[attr-defined]  # set by set_seqs; typeshed does not declare them
    changed = "".join(a[i1:i2] + b[j1:j2] for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")
    return any(char in NEGATIONS for char in changed)


def check_near_duplicates(data: NluData, threshold: float = NEAR_DUPLICATE_RATIO) -> list[Finding]:
    """Pairs of texts under different labels with a difflib ratio >= threshold (exact repeats excluded).

    Texts are sorted by length so each one is compared only with shorter texts that can still reach the
    threshold (ratio <= 2*len(a)/(len(a)+len(b))), then the cheap upper bounds run before the real ratio.
    """
    unique: dict[tuple[str, str], Example] = {}
    for example in data.examples:
        unique.setdefault((normalise(example.text), example.label), example)
    items = sorted(unique.items(), key=lambda item: len(item[0][0]))
    char_sets = [set(text) for (text, _), _ in items]
    matcher = SequenceMatcher(autojunk=False)
    pairs: list[tuple[float, Example, Example]] = []
    for j, ((longer, label_b), example_b) in enumerate(items):
        matcher.set_seq2(longer)
        for i in range(j - 1, -1, -1):
            (shorter, label_a), example_a = items[i]
            total = len(shorter) + len(longer)
            if 2 * len(shorter) / total < threshold:
                break
            if label_a == label_b or shorter == longer:
                continue
            # every distinct character of the shorter text missing from the longer one is at least one unmatched
            # character: a set difference (in C) rules out most pairs before difflib's quick_ratio
            if 2 * (len(shorter) - len(char_sets[i] - char_sets[j])) / total < threshold:
                continue
            matcher.set_seq1(shorter)
            if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
                continue
            ratio = matcher.ratio()
            if ratio >= threshold and not _differs_by_negation(matcher):
                pairs.append((ratio, example_a, example_b))
    pairs.sort(key=lambda pair: -pair[0])
    return [Finding("near", "warning", f"{ratio:.2f} {_quote(a)} ~ {_quote(b)}") for ratio, a, b in pairs]


def check_counts(
    data: NluData, error_below: int = MIN_EXAMPLES_ERROR, warn_below: int = MIN_EXAMPLES_WARNING
) -> list[Finding]:
    """Intents and retrieval sub-intents with fewer examples than Rasa can cross-validate, or than is sensible."""
    counts: dict[str, list[Example]] = defaultdict(list)
    for example in data.examples:
        counts[example.label].append(example)
    findings = []
    for label, examples in sorted(counts.items(), key=lambda item: len(item[1])):
        where = ", ".join(sorted({e.file for e in examples}))
        if len(examples) < error_below:
            findings.append(Finding("count", "error", f"{label}: {len(examples)} example(s) ({where})"))
        elif len(examples) < warn_below:
            findings.append(Finding("count", "warning", f"{label}: {len(examples)} examples ({where})"))
    return findings


def check_alignment(data: NluData, segmenter: Segmenter) -> list[Finding]:
    """Entities whose start or end falls inside a jieba token: Rasa only warns in the training log and the
    entity extractor learns a wrong span (the same test as rasa's check_correct_entity_annotations).
    The spans are checked where Rasa trains them: on the normalised text (bot.nlu.normalise), spans moved along.
    """
    findings = []
    for example in data.examples:
        if not example.entities:
            continue
        seen = nlu_normaliser()(example.text)
        tokens = segmenter.tokens(seen.text)
        starts = {start for _, start, _ in tokens}
        ends = {end for _, _, end in tokens}
        for entity in example.entities:
            moved = seen.span(entity["start"], entity["end"])
            if moved is not None and moved[0] in starts and moved[1] in ends:
                continue
            span = example.text[entity["start"] : entity["end"]]
            findings.append(Finding("alignment", "error",
                f"[{span}]({entity['entity']}) in {_quote(example)}: jieba splits "
                f"{'/'.join(word for word, _, _ in tokens)}; add 「{span}」 to the dictionary or re-annotate"))
    return findings


def _listed(words: Sequence[str]) -> str:
    shown = ", ".join(words[:MAX_LISTED])
    return shown + (f" … and {len(words) - MAX_LISTED} more" if len(words) > MAX_LISTED else "")


def check_splits(data: NluData, segmenter: Segmenter, dictionary: str | None) -> list[Finding]:
    """Lookup entries and synonym words that jieba cuts into several tokens, so they never match one token."""
    hint = f"; add them to {dictionary}/*.txt" if dictionary else ""
    findings = []
    for name, entries in data.lookups.items():
        split = [segmenter.show(word) for word in dict.fromkeys(entries) if len(segmenter.tokens(word)) > 1]
        if split:
            findings.append(Finding("split", "warning", f"lookup {name}: {len(split)} split: {_listed(split)}"
                                    f"{hint}"))
    by_value: dict[str, list[str]] = defaultdict(list)
    for word, value in data.synonyms.items():
        by_value[value].append(word)
    for value, words in by_value.items():
        split = [segmenter.show(word) for word in dict.fromkeys([value, *words]) if len(segmenter.tokens(word)) > 1]
        if split:
            findings.append(Finding("split", "warning", f"synonym {value}: {_listed(split)}{hint}"))
    return findings


def check_unused(data: NluData) -> list[Finding]:
    """Synonym words or values and lookup entries that appear in no training example text."""
    texts = [normalise(example.text) for example in data.examples]

    def unused(words: Sequence[str]) -> list[str]:
        return [w for w in dict.fromkeys(words) if not any(normalise(w) in text for text in texts)]

    findings = []
    by_value: dict[str, list[str]] = defaultdict(list)
    for word, value in data.synonyms.items():
        by_value[value].append(word)
    for value, words in by_value.items():
        missing = unused([value, *words])
        if missing:
            findings.append(Finding("unused", "warning", f"synonym {value}: {_listed(missing)}"))
    for name, entries in data.lookups.items():
        missing = unused(entries)
        if missing:
            findings.append(Finding("unused", "warning", f"lookup {name}: {len(missing)} of "
                                    f"{len(set(entries))} entries: {_listed(missing)}"))
    return findings


def check_leaks(train: NluData, test: NluData) -> list[Finding]:
    """Held-in test examples that are (normalised) training examples: they make the test set look better."""
    training: dict[str, Example] = {}
    for example in train.examples:
        training.setdefault(normalise(example.text), example)
    findings = []
    for example in test.examples:
        twin = training.get(normalise(example.text))
        if twin is not None:
            findings.append(Finding("leak", "warning", f"{_quote(example)} leaks into the test set: {_quote(twin)}"))
    return findings


def check_unseen(train: NluData, unseen: NluData) -> list[Finding]:
    """Training examples that are (normalised) lines of the unseen set: an error, since the unseen set only
    measures generalisation while no line of it is trained on. The unseen line itself is not printed."""
    blind = {normalise(example.text) for example in unseen.examples}
    return [Finding("unseen", "error", f"{_quote(example)} is a line of {UNSEEN_SET}: remove it from training")
            for example in train.examples if normalise(example.text) in blind]


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_USER_WARNING = re.compile(r"UserWarning: (.*)")
_LOG_LINE = re.compile(r"\s(WARNING|ERROR)\s+[\w.]+\s+-\s+(.*)")
_DUPLICATED_INTENTS = re.compile(r"duplicated intents have been found across multiple domain files: (.*)")


def rasa_messages(output: str) -> list[str]:
    """The warning and error messages in the output of a rasa command, one string each."""
    messages: list[list[str]] = []
    current: list[str] | None = None
    for line in _ANSI.sub("", output).splitlines():
        if match := _USER_WARNING.search(line):
            current = [match.group(1).strip()]
            messages.append(current)
        elif match := _LOG_LINE.search(line):
            current = None
            messages.append([match.group(2).strip()])
        elif current is not None and line.startswith("  ") and not line.strip().startswith("More info"):
            current.append(line.strip())
        else:
            current = None
    return [" ".join(parts) for parts in messages]


def _is_retrieval_intent_note(message: str, retrieval_intents: set[str]) -> bool:
    duplicated = _DUPLICATED_INTENTS.search(message)
    return duplicated is not None and {name.strip() for name in duplicated.group(1).split(",")} <= retrieval_intents


def check_rasa_validate(root: Path, retrieval_intents: set[str], timeout: float = 900) -> list[Finding]:
    """Run `rasa data validate --fail-on-warnings`; its failure and every warning it prints are errors.

    Rasa 3.6's validator exits 0 on some warnings despite --fail-on-warnings (e.g. "The intent 'x' is not used
    in any story or rule"), so its printed warnings count, not only its exit code. Rasa also warns that a
    retrieval intent (faq) is "duplicated across domain files" because the domain lists it and the responses
    define faq/* too; the validator does not count that note, and neither do we.
    """
    command = [sys.executable, "-m", "rasa", *RASA_VALIDATE]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=timeout, env=env)
    output = result.stdout + result.stderr
    messages = [m for m in rasa_messages(output) if not _is_retrieval_intent_note(m, retrieval_intents)]
    if result.returncode != 0:
        details = messages or _ANSI.sub("", output).strip().splitlines()[-5:]
        shown = "\n".join(details[:MAX_SHOWN])
        return [Finding("rasa", "error", f"exited with {result.returncode}:\n{shown}")]
    return [Finding("rasa", "error", message) for message in messages]


def run_checks(root: Path, *, rasa: bool = True) -> tuple[list[Finding], str]:
    """Every check on the project at `root`: the findings and a one-line summary of what was read."""
    root = root.resolve()
    files = nlu_files(root)
    train = load_nlu(root, files)
    test_path = root / TEST_SET
    test = load_nlu(root, [test_path]) if test_path.exists() else NluData()
    dictionary = jieba_dictionary_path(root)
    segmenter = Segmenter(root / dictionary if dictionary else None)

    findings: list[Finding] = []
    if rasa:
        findings += check_rasa_validate(root, {e.label.split("/")[0] for e in train.examples if "/" in e.label})
    findings += check_conflicts(train)
    findings += check_repeats(train)
    findings += check_near_duplicates(train)
    findings += check_counts(train)
    findings += check_alignment(train, segmenter) + check_alignment(test, segmenter)  # rasa test nlu tokenises too
    findings += check_splits(train, segmenter, dictionary)
    findings += check_unused(train)
    findings += check_leaks(train, test)
    unseen_path = root / UNSEEN_SET
    findings += check_unseen(train, load_nlu(root, [unseen_path]) if unseen_path.exists() else NluData())
    labels = {e.label for e in train.examples}
    summary = (f"{len(train.examples)} training examples, {len(labels)} intents and sub-intents in {len(files)} "
               f"files; {len(test.examples)} test examples; jieba dictionary {dictionary or '(none)'}")
    return findings, summary


def _count(findings: Sequence[Finding], severity: Severity) -> str:
    n = sum(1 for f in findings if f.severity == severity)
    return f"{n} {severity}{'' if n == 1 else 's'}"


def render(findings: Sequence[Finding], summary: str, skipped: Sequence[str] = ()) -> str:
    """The report: one section per check with its findings (at most MAX_SHOWN each), then the totals."""
    lines = [summary, ""]
    for key, title in CHECKS:
        if key in skipped:
            lines.append(f"{title}: skipped")
            continue
        found = [f for f in findings if f.check == key]
        if not found:
            lines.append(f"{title}: ok")
            continue
        found.sort(key=lambda f: f.severity != "error")
        lines.append(f"{title}: {_count(found, 'error')}, {_count(found, 'warning')}")
        for finding in found[:MAX_SHOWN]:
            text = finding.message.replace("\n", "\n           ")
            lines.append(f"  {finding.severity:<8} {text}")
        if len(found) > MAX_SHOWN:
            lines.append(f"  … and {len(found) - MAX_SHOWN} more")
    lines += ["", f"{_count(findings, 'error')}, {_count(findings, 'warning')}"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(prog="bin/check-data", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."), help="project root (default: .)")
    parser.add_argument("--no-rasa", action="store_true", help="skip `rasa data validate` (the slow part)")
    parser.add_argument("--strict", action="store_true", help="warnings fail too")
    args = parser.parse_args(argv)
    findings, summary = run_checks(args.root, rasa=not args.no_rasa)
    out(render(findings, summary, skipped=("rasa",) if args.no_rasa else ()))
    failing = {"error", "warning"} if args.strict else {"error"}
    return 1 if any(f.severity in failing for f in findings) else 0


if __name__ == "__main__":
    sys.exit(main())
