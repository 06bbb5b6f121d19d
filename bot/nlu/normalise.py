"""Shopper text as the NLU should see it, with a map back to the characters the shopper typed.

Shoppers write 壞了 and 坏了, Ｏ１００１ and O1001, 木有 and 没有, 坏了😭😭 and 坏了!!!!: one spelling of each
reaches the tokenizer, so the model learns one thing once. The steps, in order:

1. NFKC: full-width letters, digits and punctuation to half-width (Ｏ１００１ -> O1001, ！-> !).
2. Traditional to simplified characters (OpenCC's t2s tables).
3. Emoji, pictographs, kaomoji parts and invisible format characters removed.
4. Internet spellings and common typos mapped through `data/normalise/*.txt` (木有 -> 没有), longest first.
5. Runs collapsed: punctuation to one mark, a character repeated three times or more to two, spaces to one.

Every character of the result remembers which original character it came from (`Normalised.origin`), so
entity spans marked on the original text can be moved onto the normalised one (`Normalised.span`).
Case is kept: order ids keep the case the order feed gave them.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# Where the replacement tables live, relative to the project (the pipeline component's default).
TABLES = "data/normalise"

# One character with the index of the original character it stands for.
_Char = tuple[str, int]

# Punctuation that shoppers repeat for emphasis; a run of them keeps its first mark.
_EMPHASIS = set("~～…·.。!！?？,，、-—_=+*#^")
# Characters that only draw faces or decorate: kaomoji parts and the like (emoji are caught by category).
_KAOMOJI = set("╯╰╭╮□°ˊˋ∀▽ω﹏︶︿ヽノ丿ㄒ￣⊙◕‿ಥ≧≦ε∩๑•̀́ᴗ")
_PAIRS = {"(": ")", "（": "）", "[": "]", "【": "】"}
_CLOSERS = set(_PAIRS.values())


@dataclass(frozen=True)
class Normalised:
    """A normalised text; `origin[i]` is the index in the original text of character i."""

    text: str
    origin: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int] | None:
        """The normalised span [start', end') covering original characters [start, end), or None if gone."""
        inside = [i for i, o in enumerate(self.origin) if start <= o < end]
        if not inside:
            return None
        return inside[0], inside[-1] + 1


def read_replacements(paths: Iterable[Path]) -> dict[str, str]:
    """Pairs `<variant> <standard>` from the given files; '#' starts a comment, later files win."""
    replacements: dict[str, str] = {}
    for path in paths:
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 2:
                raise ValueError(f"{path}:{number}: expected '<variant> <standard>', got {raw!r}")
            replacements[parts[0]] = parts[1]
    return replacements


@lru_cache(maxsize=1)
def _converter():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("t2s")


def _is_dropped(char: str) -> bool:
    """Emoji, pictographs, kaomoji parts, variation selectors, joiners and other invisible characters."""
    if char in _KAOMOJI:
        return True
    category = unicodedata.category(char)
    if category in ("So", "Sk", "Cf", "Co", "Cs", "Cn"):
        return True
    # variation selectors and combining marks that decorate emoji and kaomoji
    return category == "Mn" and not ("\u4e00" <= char <= "\u9fff")


class TextNormaliser:
    """Normalises shopper text; build one per replacement table and reuse it."""

    def __init__(self, replacements: dict[str, str] | None = None) -> None:
        self._replacements = dict(replacements or {})
        self._longest = max((len(k) for k in self._replacements), default=0)

    @classmethod
    def from_directory(cls, directory: Path) -> TextNormaliser:
        """A normaliser with every `*.txt` replacement table in `directory` (none if it does not exist)."""
        return cls(read_replacements(sorted(directory.glob("*.txt"))) if directory.is_dir() else {})

    def __call__(self, text: str) -> Normalised:
        chars: list[_Char] = [(c, i) for i, c in enumerate(text)]
        for step in (_nfkc, _simplified, _without_decoration, self._replaced, _collapsed):
            chars = step(chars)
        return Normalised("".join(c for c, _ in chars), tuple(o for _, o in chars))

    def text(self, text: str) -> str:
        """Only the normalised text."""
        return self(text).text

    def _replaced(self, chars: list[_Char]) -> list[_Char]:
        if not self._replacements:
            return chars
        text = "".join(c for c, _ in chars)
        out: list[_Char] = []
        i = 0
        while i < len(chars):
            for size in range(min(self._longest, len(chars) - i), 0, -1):
                standard = self._replacements.get(text[i:i + size])
                if standard is not None and not _inside_word(text, i):
                    # each new character stands for the old one at its place (the last one past the end)
                    out.extend((c, chars[i + min(k, size - 1)][1]) for k, c in enumerate(standard))
                    i += size
                    break
            else:
                out.append(chars[i])
                i += 1
        return out


def _inside_word(text: str, i: int) -> bool:
    """Whether text[i] ends a dictionary word begun by the character before it: 木有 in 积木有几块 is 积木 + 有,
    not the spelling 木有 (没有)."""
    return i > 0 and _dictionary_frequency(text[i - 1:i + 1]) > 0


@lru_cache(maxsize=1 << 14)
def _dictionary_frequency(word: str) -> int:
    import jieba

    if not jieba.dt.initialized:
        jieba.setLogLevel(logging.WARNING)
        jieba.dt.initialize()
    return int(jieba.dt.FREQ.get(word, 0))


def _nfkc(chars: list[_Char]) -> list[_Char]:
    return [(n, origin) for c, origin in chars for n in unicodedata.normalize("NFKC", c)]


def _simplified(chars: list[_Char]) -> list[_Char]:
    if not any(ord(c) > 0x2E7F for c, _ in chars):
        return chars
    text = "".join(c for c, _ in chars)
    converted = _converter().convert(text)
    if len(converted) == len(text):
        return [(n, origin) for n, (_, origin) in zip(converted, chars, strict=True)]
    # a phrase table changed the length: convert character by character so every origin stays exact
    return [(n, origin) for c, origin in chars for n in _converter().convert(c)]


def _without_decoration(chars: list[_Char]) -> list[_Char]:
    out: list[_Char] = []
    for c, o in chars:
        if _is_dropped(c):
            continue
        out.append((c, o))
        if c in _CLOSERS:
            _drop_empty_brackets(out)
    return _without_unmatched_brackets(out)


def _without_unmatched_brackets(chars: list[_Char]) -> list[_Char]:
    """Brackets without a partner (left over from a kaomoji like ︵ or ╯) say nothing: drop them."""
    openers: list[int] = []
    unmatched: set[int] = set()
    for i, (c, _) in enumerate(chars):
        if c in _PAIRS:
            openers.append(i)
        elif c in _CLOSERS:
            if openers:
                openers.pop()
            else:
                unmatched.add(i)
    unmatched.update(openers)
    return [pair for i, pair in enumerate(chars) if i not in unmatched]


def _drop_empty_brackets(out: list[_Char]) -> None:
    """Remove a bracket pair just closed at the end of `out` that holds no letter, digit or character:
    what is left of a kaomoji such as (╯°□°）╯ once its face is gone."""
    for j in range(len(out) - 2, -1, -1):
        inner = out[j][0]
        if inner in _PAIRS:  # any opener closes it: a kaomoji mixes （ and )
            del out[j:]
            return
        if inner.isalnum():
            return


def _collapsed(chars: list[_Char]) -> list[_Char]:
    out: list[_Char] = []
    for c, o in chars:
        if c.isspace():
            if out and not out[-1][0].isspace():
                out.append((" ", o))
            continue
        if out and c in _EMPHASIS and out[-1][0] in _EMPHASIS:
            continue
        if len(out) >= 2 and out[-1][0] == c and out[-2][0] == c and not c.isdigit() and not c.isascii():
            continue
        out.append((c, o))
    while out and out[0][0].isspace():
        out.pop(0)
    while out and out[-1][0].isspace():
        out.pop()
    return out
