"""Rasa's JiebaTokenizer, retrained when the project dictionary changes.

Rasa fingerprints a component by its config and training data only, so a word added to data/dictionary
kept the old tokenizer (and the old segmentation) until something else changed.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer as RasaJiebaTokenizer

from bot.nlu.fingerprint import files_fingerprint


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class JiebaTokenizer(RasaJiebaTokenizer):
    """JiebaTokenizer whose fingerprint includes the dictionary files."""

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """The dictionary folder's contents."""
        path = config.get("dictionary_path")
        return files_fingerprint(path) if path else None
