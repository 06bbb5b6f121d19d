"""Rasa graph component: intents, and the faq answer, from one linear model over character n-grams.

Why not DIET: on our data (≈4,000 examples, no pretrained vectors) a logistic model over character 1–3-grams of
the normalised text generalises at least as well (benchmarks/nlu_pipelines.py: cross-validation and the unseen
set) and trains in seconds instead of many minutes on two cores. Character n-grams carry the Chinese words
without a tokenizer's mistakes, and they share evidence between 退款/退钱/退了.

Retrieval intents are learnt as their full labels (faq/refund_time): the intent reported is `faq` with the sum
of its answers' probabilities, and the best answer fills `response_selector` exactly as Rasa's ResponseSelector
does, so `utter_faq`, `rasa test nlu` and the trusted channel read it unchanged.
"""

from __future__ import annotations

import logging
import re
import zlib
from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

MODEL_FILE = "linear_intents.joblib"
RANKING_LENGTH = 10


@dataclass(frozen=True)
class Prediction:
    """One message's intent ranking (base intents) and, for a retrieval intent, its answers' ranking."""

    ranking: list[tuple[str, float]]
    answers: dict[str, list[tuple[str, float]]]  # retrieval intent -> [(full label, probability within it)]


_ORDER_ID = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{1,3}[0-9]{3,}(?![0-9])")
_DIGITS = re.compile(r"[0-9]+")


def masked(text: str) -> str:
    """The text as the classifier reads it: any order id is one symbol, any number one digit, lower case.
    「O1001的13支笔」 and 「o2002的2支笔」 then look alike, as they mean the same to the intent."""
    return _DIGITS.sub("9", _ORDER_ID.sub("#", text)).lower()


def build_model(config: dict[str, Any]) -> Any:
    """The scikit-learn pipeline: tf-idf character n-grams, then a logistic model trained by SGD."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(analyzer=config["analyzer"], ngram_range=(config["min_ngram"], config["max_ngram"]),
                        sublinear_tf=True, preprocessor=masked if config["mask_numbers"] else str.lower),
        SGDClassifier(loss="log_loss", alpha=config["alpha"], max_iter=config["epochs"], tol=None,
                      class_weight=config["class_weight"], random_state=config["random_seed"]),
    )


def predict(model: Any, texts: list[str]) -> list[Prediction]:
    """Intent rankings for `texts`: full labels' probabilities summed into their base intent."""
    labels: list[str] = list(model.classes_)
    probabilities = model.predict_proba(texts)
    predictions = []
    for row in probabilities:
        by_intent: dict[str, float] = {}
        answers: dict[str, list[tuple[str, float]]] = {}
        for label, p in zip(labels, row, strict=True):
            base = label.split("/", 1)[0]
            by_intent[base] = by_intent.get(base, 0.0) + float(p)
            if "/" in label:
                answers.setdefault(base, []).append((label, float(p)))
        for base, options in answers.items():
            total = by_intent[base] or 1.0
            answers[base] = sorted(((label, p / total) for label, p in options), key=lambda lp: -lp[1])
        ranking = sorted(by_intent.items(), key=lambda kv: -kv[1])
        predictions.append(Prediction(ranking, answers))
    return predictions


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(GraphComponent, IntentClassifier):
    """Intent and faq answer from a logistic model over character n-grams of the (normalised) text."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Chosen by benchmarks/nlu_pipelines.py (cross-validation macro-F1, then the unseen set)."""
        return {
            "analyzer": "char_wb",
            "min_ngram": 1,
            "max_ngram": 3,
            "alpha": 1e-5,
            "epochs": 50,
            "class_weight": "balanced",
            "mask_numbers": True,
            "random_seed": 42,
        }

    @staticmethod
    def required_packages() -> list[str]:
        """Python packages this component needs."""
        return ["sklearn"]

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Any = None,
        responses: dict[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._model = model
        self._responses = responses or {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        """An untrained classifier."""
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Fit on every intent example (retrieval intents by their full label) and store the model."""
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        labels = [m.get_full_intent() for m in examples]
        if len(set(labels)) < 2:
            logger.warning(f"{type(self).__name__} needs at least two intents; it will predict nothing.")
            return self._resource
        self._model = build_model(self._config)
        self._model.fit([m.get(TEXT) for m in examples], labels)
        self._responses = dict(training_data.responses)
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump({"model": self._model, "responses": self._responses}, directory / MODEL_FILE)
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        """The stored model, or an empty classifier when training stored none."""
        try:
            with model_storage.read_from(resource) as directory:
                stored = joblib.load(directory / MODEL_FILE)
        except (ValueError, FileNotFoundError):
            logger.warning(f"{cls.__name__} has no stored model; it will predict nothing.")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, stored["model"], stored["responses"])

    def process(self, messages: list[Message]) -> list[Message]:
        """Set intent, intent ranking and, for a retrieval intent, the selected answer."""
        texts = [m.get(TEXT) or "" for m in messages]
        if self._model is None or not any(texts):
            return messages
        for message, prediction in zip(messages, predict(self._model, texts), strict=True):
            name, confidence = prediction.ranking[0]
            message.set(INTENT, {"name": name, "confidence": confidence}, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [{"name": n, "confidence": c}
                                             for n, c in prediction.ranking[:RANKING_LENGTH]], add_to_output=True)
            for retrieval_intent, answers in prediction.answers.items():
                self._select_answer(message, retrieval_intent, answers)
        return messages

    def _select_answer(self, message: Message, retrieval_intent: str, answers: list[tuple[str, float]]) -> None:
        """Fill `response_selector` as Rasa's ResponseSelector does (what utter_faq reads)."""
        key, confidence = answers[0]
        utter = f"utter_{key}"
        selector = message.get("response_selector") or {}
        selector["all_retrieval_intents"] = sorted({*selector.get("all_retrieval_intents", []), retrieval_intent})
        selector[retrieval_intent] = {
            "response": {
                "responses": self._responses.get(utter, [{TEXT: key}]),
                "confidence": float(np.round(confidence, 6)),
                "intent_response_key": key,
                "utter_action": utter,
            },
            "ranking": [{"id": zlib.crc32(k.encode()), "confidence": c, "intent_response_key": k}
                        for k, c in answers[:RANKING_LENGTH]],
        }
        message.set("response_selector", selector, add_to_output=True)
