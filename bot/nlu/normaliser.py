"""Rasa graph component that normalises every message's text before the tokenizer (see bot.nlu.normalise).

It runs first in the pipeline, in training and in prediction alike, so the model only ever sees one spelling.
Entity spans of training examples are moved onto the normalised text, so marks made on 保溫杯 or on
「坏了😭」 still cover the same characters. The replacement tables are copied into the model, so a model
behaves the same wherever it is loaded. The shopper's own text stays in the transcript; only the parse
carries the normalised one.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_END, ENTITY_ATTRIBUTE_START, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.fingerprint import files_fingerprint
from bot.nlu.normalise import TABLES, TextNormaliser

logger = logging.getLogger(__name__)

TABLES_DIR = "normalise"


def normalise_message(normaliser: TextNormaliser, message: Message) -> None:
    """Replace the message's text by its normalised form, moving entity spans (and literal values) along."""
    text = message.get(TEXT)
    if not text:
        return
    result = normaliser(text)
    if result.text == text:
        return
    entities = []
    for entity in message.get(ENTITIES) or []:
        start, end = entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END]
        span = result.span(start, end)
        if span is None:
            logger.warning(f"Entity {entity} in {text!r} vanishes when normalised to {result.text!r}; dropped.")
            continue
        moved = {**entity, ENTITY_ATTRIBUTE_START: span[0], ENTITY_ATTRIBUTE_END: span[1]}
        if entity.get("value") == text[start:end]:
            moved["value"] = result.text[span[0]:span[1]]
        entities.append(moved)
    message.set(TEXT, result.text)
    if message.get(ENTITIES) is not None:
        message.set(ENTITIES, entities)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class TextNormaliserComponent(GraphComponent):
    """First in the pipeline: NFKC, traditional to simplified, no emoji, internet spellings, no repeats."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Where the trainer-editable replacement tables live (relative to the project)."""
        return {"tables_path": TABLES}

    @staticmethod
    def required_packages() -> list[str]:
        """Python packages this component needs."""
        return ["opencc"]

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        normaliser: TextNormaliser | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._normaliser = normaliser or TextNormaliser.from_directory(Path(self._config["tables_path"]))

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """The tables' contents: editing them retrains the component (and everything after it)."""
        return files_fingerprint({**cls.get_default_config(), **config}["tables_path"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TextNormaliserComponent:
        """A component reading the tables from the project (training)."""
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Copy the replacement tables into the model."""
        source = Path(self._config["tables_path"])
        with self._model_storage.write_to(self._resource) as directory:
            if source.is_dir():
                shutil.copytree(source, directory / TABLES_DIR, dirs_exist_ok=True)
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> TextNormaliserComponent:
        """A component with the tables stored in the model."""
        try:
            with model_storage.read_from(resource) as directory:
                normaliser = TextNormaliser.from_directory(directory / TABLES_DIR)
        except ValueError:
            logger.warning(f"{cls.__name__} has no stored tables; it normalises without replacements.")
            normaliser = TextNormaliser({})
        return cls(config, model_storage, resource, normaliser)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Normalise every training example (entity spans follow)."""
        for message in training_data.training_examples:
            normalise_message(self._normaliser, message)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Normalise incoming messages."""
        for message in messages:
            normalise_message(self._normaliser, message)
        return messages
