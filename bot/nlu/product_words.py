"""Rasa graph component: every token that is a product word of the project dictionary is an `item`.

The CRF learns items from their context in the training examples, so a product never seen there (雪饼, 椅子)
in a sentence unlike them is missed, and the bot then asks which item although the shopper named it. The
dictionary (data/dictionary/products.txt) already lists the product words jieba keeps whole, so a token that
is one of them is marked too, unless an extractor before this one marked it already. The word list is stored
in the model, so a model behaves the same wherever it is loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.fingerprint import files_fingerprint

WORDS_FILE = "product_words.json"


def read_product_words(paths: list[Path]) -> set[str]:
    """The words of jieba dictionary files (`word [freq] [tag]` lines); a frequency of 0 only splits, so it is
    not a word."""
    words: set[str] = set()
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if parts and not parts[0].startswith("#") and not (len(parts) > 1 and parts[1] == "0"):
                words.add(parts[0])
    return words


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class ProductWordExtractor(GraphComponent, EntityExtractorMixin):
    """Marks tokens that are product words as `item` (after the learned extractors, before synonyms)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The dictionary files that list product words (relative to the project)."""
        return {"dictionary_files": ["data/dictionary/products.txt"], "entity": "item"}

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """The word lists' contents: editing them retrains the component."""
        files = {**cls.get_default_config(), **config}["dictionary_files"]
        return files_fingerprint(*{Path(f).parent for f in files})

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 words: set[str] | None = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._words = words or set()

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> ProductWordExtractor:
        """An untrained extractor; `train` reads the word lists."""
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Store the product words in the model."""
        self._words = read_product_words([Path(f) for f in self._config["dictionary_files"]])
        with self._model_storage.write_to(self._resource) as directory:
            (directory / WORDS_FILE).write_text(json.dumps(sorted(self._words), ensure_ascii=False),
                                                encoding="utf-8")
        return self._resource

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> ProductWordExtractor:
        """The extractor with the stored words (none if training stored none)."""
        try:
            with model_storage.read_from(resource) as directory:
                words = set(json.loads((directory / WORDS_FILE).read_text(encoding="utf-8")))
        except (ValueError, FileNotFoundError):
            words = set()
        return cls(config, model_storage, resource, words)

    def process(self, messages: list[Message]) -> list[Message]:
        """Add an item for each product-word token no earlier entity covers."""
        entity = self._config["entity"]
        for message in messages:
            tokens = message.get(TOKENS_NAMES[TEXT]) or []
            found = message.get(ENTITIES) or []
            taken = [(e["start"], e["end"]) for e in found if e.get("entity") == entity]
            new = [
                {"entity": entity, "start": t.start, "end": t.end, "value": t.text, "confidence_entity": 1.0}
                for t in tokens
                if t.text in self._words and not any(s < t.end and t.start < e for s, e in taken)
            ]
            if new:
                message.set(ENTITIES, found + self.add_extractor_name(new), add_to_output=True)
        return messages
