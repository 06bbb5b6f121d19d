"""Rasa graph component: quantity, order_id and amount entities from spaCy EntityRuler patterns.

Patterns (`*.jsonl`) and the numeral table (`numerals.yml`) are read from `patterns_path` at
training time and stored in the model, with the jieba user dictionary, so a model is
self-contained. Values are normalised: 一支 -> 1, 12块5 -> 1250 (cents); order ids keep their case.
"""

from __future__ import annotations

import glob
import json
import logging
import shutil
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.utils.io import read_yaml_file

from bot.nlu.fingerprint import files_fingerprint
from bot.nlu.numerals import NumeralTable

logger = logging.getLogger(__name__)

NUMERALS_FILE = "numerals.yml"
DICTIONARY_DIR = "dictionary"
PATTERNS_DIR = "patterns"


def load_jieba_dictionary(directory: Path) -> None:
    """Load every jieba user dictionary (*.txt) in `directory` into the global jieba."""
    import jieba

    for path in sorted(glob.glob(str(directory / "*.txt"))):
        jieba.load_userdict(path)


def build_nlp(patterns: list[dict[str, Any]]) -> Any:
    """spaCy Chinese with the jieba segmenter and an EntityRuler holding `patterns`."""
    from spacy.lang.zh import Chinese

    nlp = Chinese.from_config({"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(patterns)  # type: ignore[attr-defined]  # add_pipe is typed as returning any Pipe
    return nlp


def read_patterns(directory: Path) -> list[dict[str, Any]]:
    """All EntityRuler patterns from the `*.jsonl` files in `directory`."""
    patterns: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("//"):
                patterns.append(json.loads(line))
    return patterns


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True
)
class RuleEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Extracts quantity, order_id and amount with spaCy rules; values normalised."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Where the editable rule files and the jieba dictionary live (relative to the project)."""
        return {
            "patterns_path": "data/entities",
            "dictionary_path": "data/dictionary",
            "confidence": 1.0,
        }

    @staticmethod
    def required_packages() -> list[str]:
        """Python packages this component needs."""
        return ["spacy", "jieba"]

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """The rule files and the dictionary: editing them retrains the component."""
        config = {**cls.get_default_config(), **config}
        return files_fingerprint(config["patterns_path"], config["dictionary_path"])

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        patterns: list[dict[str, Any]] | None = None,
        numerals: NumeralTable | None = None,
    ) -> None:
        """Keep the config; the spaCy pipeline is built only when there are patterns."""
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._patterns = patterns or []
        self._numerals = numerals
        self._nlp = build_nlp(self._patterns) if self._patterns else None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RuleEntityExtractor:
        """An untrained component; `train` reads the rule files."""
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Copy the rule files and the jieba dictionary into the model storage."""
        source = Path(self._config["patterns_path"])
        dictionary = Path(self._config["dictionary_path"])
        if not read_patterns(source):
            raise ValueError(f"No EntityRuler patterns (*.jsonl) found in '{source}'.")
        with self._model_storage.write_to(self._resource) as directory:
            shutil.copytree(source, directory / PATTERNS_DIR, dirs_exist_ok=True)
            if dictionary.is_dir():
                shutil.copytree(dictionary, directory / DICTIONARY_DIR, dirs_exist_ok=True)
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> RuleEntityExtractor:
        """Load the stored dictionary into jieba and build the spaCy rules."""
        try:
            with model_storage.read_from(resource) as directory:
                load_jieba_dictionary(directory / DICTIONARY_DIR)
                patterns = read_patterns(directory / PATTERNS_DIR)
                numerals = NumeralTable.from_dict(
                    read_yaml_file(directory / PATTERNS_DIR / NUMERALS_FILE)
                )
        except ValueError:
            logger.warning(f"{cls.__name__} has no stored rules; it will extract nothing.")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, patterns, numerals)

    def process(self, messages: list[Message]) -> list[Message]:
        """Append the rule entities of each message to its entities."""
        if self._nlp is None or self._numerals is None:
            return messages
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            found = self.add_extractor_name(self.extract(text))
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages

    def extract(self, text: str) -> list[dict[str, Any]]:
        """Rule entities of one text, as Rasa entity dicts with normalised values."""
        assert self._nlp is not None and self._numerals is not None
        normalisers: dict[str, Callable[[str], Any]] = {
            "quantity": self._numerals.quantity,
            "amount": self._numerals.amount_cents,
            # ids keep their case (the feed's ids may have lower-case letters); the refund service
            # matches an id typed in another case against the shopper's own orders
            "order_id": lambda s: unicodedata.normalize("NFKC", s).strip(),
        }
        entities = []
        for span in self._nlp(text).ents:
            normalise = normalisers.get(span.label_)
            value = normalise(span.text) if normalise else span.text
            if value is None:
                continue
            entities.append(self._entity(span.label_, span.start_char, span.end_char, value))
        if not entities:
            bare = self._numerals.bare_quantity(text)
            if bare is not None:
                entities.append(self._entity("quantity", 0, len(text), bare))
        return entities

    def _entity(self, name: str, start: int, end: int, value: Any) -> dict[str, Any]:
        return {
            "entity": name,
            "start": start,
            "end": end,
            "value": value,
            "confidence_entity": float(self._config["confidence"]),
        }
