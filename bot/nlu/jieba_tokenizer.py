"""Rasa's JiebaTokenizer, retrained when the project dictionary changes, and without jieba's HMM word guessing.

Rasa fingerprints a component by its config and training data only, so a word added to data/dictionary
kept the old tokenizer (and the old segmentation) until something else changed.

jieba's HMM glues runs of single characters into new "words" (买的笔有三支 -> 买/的/笔有/三支, 十支笔全 -> 十支/笔全),
which hides the item 笔 from the entity extractors; without it, words come only from the dictionaries.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer as RasaJiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.fingerprint import files_fingerprint


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class JiebaTokenizer(RasaJiebaTokenizer):
    """JiebaTokenizer whose fingerprint includes the dictionary files, segmenting without the HMM."""

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """The dictionary folder's contents."""
        path = config.get("dictionary_path")
        return files_fingerprint(path) if path else None

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        """Dictionary words only (HMM=False); the rest character by character."""
        import jieba

        tokens = [Token(word, start) for word, start, _ in jieba.tokenize(message.get(attribute), HMM=False)]
        return self._apply_token_pattern(tokens)
