"""Turn matched Chinese/Arabic number text into integers (一支 -> 1, 12块5 -> 1250 cents).

The character tables come from `data/entities/numerals.yml`, so trainers can extend them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

_DECIMAL = re.compile(r"^\d+(\.\d+)?$")


@dataclass(frozen=True)
class NumeralTable:
    """Characters and words needed to read quantities and money amounts."""

    digits: Mapping[str, int]
    units: Mapping[str, int]
    yuan_words: tuple[str, ...] = ("元", "块")
    jiao_words: tuple[str, ...] = ("角", "毛")
    fen_words: tuple[str, ...] = ("分",)
    currency_symbols: tuple[str, ...] = ("¥", "￥")
    bare_number_max_quantity: int = 99
    _numeral_chars: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        chars = frozenset(self.digits) | frozenset(self.units) | frozenset("0123456789")
        object.__setattr__(self, "_numeral_chars", chars)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> NumeralTable:
        """Build a table from the parsed numerals.yml."""
        return cls(
            digits={str(k): int(v) for k, v in raw["digits"].items()},
            units={str(k): int(v) for k, v in raw["units"].items()},
            yuan_words=tuple(raw.get("yuan_words", cls.yuan_words)),
            jiao_words=tuple(raw.get("jiao_words", cls.jiao_words)),
            fen_words=tuple(raw.get("fen_words", cls.fen_words)),
            currency_symbols=tuple(raw.get("currency_symbols", cls.currency_symbols)),
            bare_number_max_quantity=int(raw.get("bare_number_max_quantity", 99)),
        )

    def leading_number(self, text: str) -> tuple[int | None, str]:
        """Read the number at the start of `text`; return it and the rest (一支 -> 1, "支")."""
        text = unicodedata.normalize("NFKC", text).strip()
        end = 0
        while end < len(text) and text[end] in self._numeral_chars:
            end += 1
        return self.to_int(text[:end]), text[end:]

    def to_int(self, numeral: str) -> int | None:
        """Parse "12", "十二", "两", "一百零五", "3万" into an int; None if not a number."""
        numeral = unicodedata.normalize("NFKC", numeral).strip()
        if not numeral:
            return None
        if numeral.isdigit():
            return int(numeral)
        total, section, current = 0, 0, 0
        for char in numeral:
            if char.isdigit():
                current = current * 10 + int(char)
            elif char in self.digits:
                current = self.digits[char]
            elif char in self.units:
                unit = self.units[char]
                if unit >= 10000:
                    total += (section + current) * unit
                    section = 0
                else:
                    section += (current or 1) * unit  # 十二: a bare 十 means 一十
                current = 0
            else:
                return None
        return total + section + current

    def quantity(self, text: str) -> int | None:
        """Quantity of "一支", "3件", "俩"; None when no number leads the text."""
        value, _ = self.leading_number(text)
        return value

    def bare_quantity(self, text: str) -> int | None:
        """A whole message that is only a small number ("2", "两") is a quantity."""
        text = unicodedata.normalize("NFKC", text).strip().rstrip("。.!！")
        value = self.to_int(text) if text else None
        if value is None or not 0 < value <= self.bare_number_max_quantity:
            return None
        return value

    def amount_cents(self, text: str) -> int | None:
        """Money in cents: "¥12.5" -> 1250, "12块5" -> 1250, "12元" -> 1200, "3毛" -> 30."""
        text = unicodedata.normalize("NFKC", text).replace(" ", "")
        for symbol in sorted(self.currency_symbols, key=len, reverse=True):
            text = text.replace(unicodedata.normalize("NFKC", symbol), "")
        yuan_text, rest = text, ""
        for word in sorted(self.yuan_words, key=len, reverse=True):
            if word in text:
                yuan_text, rest = text.split(word, 1)
                break
        if _DECIMAL.match(yuan_text):
            try:
                cents = Decimal(yuan_text) * 100
            except InvalidOperation:
                return None
        else:
            yuan = self.to_int(yuan_text)
            if yuan is None:
                return None
            cents = Decimal(yuan * 100)
        if rest:
            jiao, unit = self.leading_number(rest)
            if jiao is None:
                return None
            cents += jiao if unit in self.fen_words else jiao * 10
        return int(cents)
