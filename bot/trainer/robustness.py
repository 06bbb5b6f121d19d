"""How shoppers' spellings vary, as transforms of a message that must not change its intent.

Each transform is deterministic for a given text and seed, so two models are compared on the same messages.
The homophone transform replaces one Chinese character by the most common other character with the same
pinyin (ignoring tones): the typo a pinyin keyboard makes (退款 -> 腿款).
"""

from __future__ import annotations

import random
import string
import unicodedata
import zlib
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

EMOJI = ("😭", "😡", "🙏", "👍", "😂", "🤔", "😤", "❤️", "😅", "🥺", "🙄", "💔")


def _rng(text: str, seed: int) -> random.Random:
    return random.Random(zlib.crc32(text.encode()) ^ seed)


def _is_han(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


@lru_cache(maxsize=1)
def _to_traditional():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("s2t")


def traditional(text: str, seed: int = 0) -> str:
    """Simplified characters written as traditional ones (OpenCC s2t)."""
    return str(_to_traditional().convert(text))


def emoji_appended(text: str, seed: int = 0) -> str:
    """An emoji (sometimes two) after the message, as shoppers add them."""
    rng = _rng(text, seed)
    return text + "".join(rng.choice(EMOJI) for _ in range(rng.choice((1, 1, 2))))


def full_width(text: str, seed: int = 0) -> str:
    """ASCII letters, digits and punctuation typed in full-width form (Ｏ１００１)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in text)


def punctuation_removed(text: str, seed: int = 0) -> str:
    """Every punctuation mark gone, as in quick typing."""
    return "".join(c for c in text if not unicodedata.category(c).startswith("P") and c not in string.punctuation)


@lru_cache(maxsize=1)
def _character_counts() -> Counter[str]:
    """How often each character occurs in jieba's dictionary, weighted by word frequency: which is common."""
    import jieba

    counts: Counter[str] = Counter()
    dictionary = Path(jieba.__file__).parent / "dict.txt"
    for line in dictionary.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2:
            for char in parts[0]:
                counts[char] += int(parts[1])
    return counts


@lru_cache(maxsize=1)
def _homophones() -> dict[str, list[str]]:
    """Toneless pinyin -> common characters with that reading, most frequent first."""
    from pypinyin import Style, lazy_pinyin

    counts = _character_counts()
    by_sound: dict[str, list[str]] = {}
    for char, _ in counts.most_common(6000):
        if _is_han(char):
            by_sound.setdefault(lazy_pinyin(char, style=Style.NORMAL)[0], []).append(char)
    return by_sound


def homophone(text: str, seed: int = 0) -> str:
    """One Chinese character replaced by the most common other character that sounds the same."""
    from pypinyin import Style, lazy_pinyin

    rng = _rng(text, seed)
    positions = [i for i, c in enumerate(text) if _is_han(c)]
    rng.shuffle(positions)
    for i in positions:
        sound = lazy_pinyin(text[i], style=Style.NORMAL)[0]
        others = [c for c in _homophones().get(sound, []) if c != text[i]]
        if others:
            return text[:i] + others[0] + text[i + 1:]
    return text


TRANSFORMS: dict[str, Callable[[str, int], str]] = {
    "traditional": traditional,
    "emoji": emoji_appended,
    "full_width": full_width,
    "no_punctuation": punctuation_removed,
    "homophone": homophone,
}
