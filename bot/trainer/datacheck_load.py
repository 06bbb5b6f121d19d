"""Load a project's NLU data the way Rasa does (with file and line for each example) and segment it like Rasa's
JiebaTokenizer, for the data checks in `bot.trainer.datacheck`."""

from __future__ import annotations

import glob
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.nlu.normalise import TABLES, TextNormaliser
from bot.settings import ROOT

# An item under `nlu:` starts a block: "- intent: x", "- synonym: y", "- lookup: z", "- regex: w".
_BLOCK = re.compile(r"^\s*-\s*(intent|synonym|lookup|regex)\s*:")
_TRAILING_PUNCTUATION = re.compile(r"[\W_]+$")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Example:
    """One training example as Rasa sees it: plain text, label and entities (start, end, value, entity)."""

    text: str
    label: str  # the intent, or the retrieval sub-intent such as "faq/refund_time"
    entities: tuple[dict[str, Any], ...]
    file: str  # relative to the project root
    line: int | None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass
class NluData:
    """Examples, synonyms (word -> canonical value) and lookup tables (name -> entries) of some NLU files."""

    examples: list[Example] = field(default_factory=list)
    synonyms: dict[str, str] = field(default_factory=dict)
    lookups: dict[str, list[str]] = field(default_factory=dict)


@lru_cache(maxsize=1)
def nlu_normaliser() -> TextNormaliser:
    """The normaliser the pipeline's first component applies, with the project's replacement tables."""
    return TextNormaliser.from_directory(ROOT / TABLES)


@lru_cache(maxsize=1 << 16)
def normalise(text: str) -> str:
    """The form two examples are compared in, by the data checks and by labelling (bot.trainer.nlu_files):
    what the NLU sees (bot.nlu.normalise: 壞了 = 坏了, 木有 = 没有), case-folded, without whitespace, punctuation
    or trailing symbols (「杯子，裂了！👍」 = 「杯子裂了」)."""
    seen = nlu_normaliser().text(text)
    folded = _WHITESPACE.sub("", unicodedata.normalize("NFKC", seen).casefold())
    bare = "".join(c for c in folded if not unicodedata.category(c).startswith("P"))
    return _TRAILING_PUNCTUATION.sub("", bare) or bare or folded  # "？" or "👍" alone stay as they are


def nlu_files(root: Path, data_dir: str = "data") -> list[Path]:
    """Every YAML file under `data_dir` that Rasa would read as NLU data."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    files = sorted((root / data_dir).rglob("*.yml")) + sorted((root / data_dir).rglob("*.yaml"))
    return [f for f in files if RasaYAMLReader.is_yaml_nlu_file(f)]


def load_nlu(root: Path, files: Iterable[Path]) -> NluData:
    """Read `files` with Rasa's own YAML reader, so annotations parse exactly as in training."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    data = NluData()
    for path in files:
        training_data = RasaYAMLReader().read(str(path))
        messages = training_data.training_examples
        lines = _example_lines(path.read_text(encoding="utf-8"), [m.get("text") for m in messages])
        relative = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        for message, line in zip(messages, lines, strict=True):
            label = message.get("intent_response_key") or message.get("intent")
            entities = tuple(message.get("entities") or ())
            data.examples.append(Example(message.get("text"), label, entities, relative, line))
        data.synonyms.update(training_data.entity_synonyms)
        for table in training_data.lookup_tables:
            data.lookups.setdefault(table["name"], []).extend(table["elements"])
    return data


def _example_lines(source: str, texts: list[str]) -> list[int | None]:
    """The 1-based line of each example, matched in order against the `- ...` lines of intent blocks."""
    from rasa.shared.nlu.training_data import entities_parser

    candidates: list[tuple[int, str]] = []
    in_intent = False
    for number, raw in enumerate(source.splitlines(), start=1):
        block = _BLOCK.match(raw)
        if block:
            in_intent = block.group(1) == "intent"
            continue
        stripped = raw.strip()
        if in_intent and stripped.startswith("-"):
            example = stripped[1:].strip()
            if example.startswith("text:"):  # examples written as a list of {text: ...}
                example = example[len("text:") :].strip().strip("\"'")
            try:
                candidates.append((number, entities_parser.replace_entities(example)))
            except Exception:  # a malformed annotation: Rasa reports it, we only lose the line number
                candidates.append((number, example))
    lines: list[int | None] = []
    position = 0
    for text in texts:
        found = next((i for i in range(position, len(candidates)) if candidates[i][1] == text), None)
        if found is None:
            lines.append(None)
        else:
            lines.append(candidates[found][0])
            position = found + 1
    return lines


def pipeline_component(root: Path, class_name: str, config_file: str = "config.yml") -> dict[str, Any] | None:
    """The pipeline entry of the component with this class name (Rasa's or ours under bot.nlu), or None."""
    config = yaml.safe_load((root / config_file).read_text(encoding="utf-8")) or {}
    for component in config.get("pipeline") or []:
        if str(component.get("name", "")).split(".")[-1] == class_name:
            return dict(component)
    return None


def jieba_dictionary_path(root: Path, config_file: str = "config.yml") -> str | None:
    """The `dictionary_path` of the JiebaTokenizer in the pipeline; None when there is none or no tokenizer."""
    tokenizer = pipeline_component(root, "JiebaTokenizer", config_file)
    return tokenizer.get("dictionary_path") if tokenizer else None


class Segmenter:
    """jieba with the project dictionary loaded as our JiebaTokenizer (bot.nlu.jieba_tokenizer) loads it:
    `jieba.load_userdict` on every file matching `<dictionary_path>/*` (glob order), then
    `jieba.tokenize(text, HMM=False)`.

    A private `jieba.Tokenizer` keeps the global jieba (and other checks in the same process) untouched.
    """

    def __init__(self, dictionary_dir: Path | None) -> None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()
        if dictionary_dir is not None:
            for path in glob.glob(f"{dictionary_dir}/*"):
                if Path(path).is_file():
                    self._tokenizer.load_userdict(path)

    def tokens(self, text: str) -> list[tuple[str, int, int]]:
        """(word, start, end) for each token, as `jieba.tokenize` gives them to Rasa."""
        return list(self._tokenizer.tokenize(text, HMM=False))

    def show(self, text: str) -> str:
        """The segmentation written as 有/一支/笔/坏了."""
        return "/".join(word for word, _, _ in self.tokens(text))
