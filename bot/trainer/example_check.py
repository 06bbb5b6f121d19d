"""One labelled example before it is written: the intent name, the text, the entity spans, its rendering as
Rasa's annotation, and the check that a file reads as before plus exactly that example.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rasa.shared.core.constants import DEFAULT_INTENTS
from rasa.shared.nlu.training_data import entities_parser
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa_protocol import MAX_TEXT_CHARS
from bot.trainer.nlu_layout import LabelError, parse, read

MAX_VALUE_CHARS = 100
INTENT_NAME = re.compile(r"^(?:(?P<parent>[a-z][a-z0-9_]*)/)?(?P<name>[a-z][a-z0-9_]*)$")
MAX_INTENT_CHARS = 64
# Intents Rasa predicts itself (nlu_fallback) or handles specially; out_of_scope is ours to label.
RESERVED_INTENTS = frozenset(DEFAULT_INTENTS) - {"out_of_scope"}
# Bidirectional controls make a pull-request diff show something other than what is stored.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

Key = tuple[str, str, str]  # (intent, text, entities as JSON): one example as Rasa reads it


@dataclass(frozen=True)
class EntitySpan:
    """An entity over character offsets [start, end) of the text; value None means the covered text."""

    start: int
    end: int
    entity: str
    value: str | None = None


def check_intent(intent: Any) -> tuple[str, str | None]:
    """The stripped intent name and its retrieval parent (faq for faq/x), or LabelError('bad_intent')."""
    intent = intent.strip() if isinstance(intent, str) else ""
    match = INTENT_NAME.match(intent)
    if not match or len(intent) > MAX_INTENT_CHARS:
        raise LabelError("bad_intent", f"{intent!r} is not an intent name (a-z, 0-9, _; faq/<name> for an FAQ)")
    if intent in RESERVED_INTENTS:
        raise LabelError("bad_intent", f"{intent!r} is predicted by Rasa itself and cannot be labelled")
    return intent, match["parent"]


def collapse(text: str) -> tuple[str, list[int]]:
    """Strip, collapse every whitespace run (newlines and tabs too) to one space; old -> new offsets."""
    out: list[str] = []
    where = [0] * (len(text) + 1)
    content = [i for i, c in enumerate(text) if not c.isspace()]
    lo, hi = (content[0], content[-1] + 1) if content else (0, 0)
    for i, c in enumerate(text):
        where[i] = len(out)
        if lo <= i < hi:
            if not c.isspace():
                out.append(c)
            elif not text[i - 1].isspace():
                out.append(" ")
    where[len(text)] = len(out)
    return "".join(out), where


def _check_chars(s: str, what: str, code: str) -> None:
    for c in s:
        if unicodedata.category(c) in ("Cc", "Cs") or c in BIDI_CONTROLS or c in "\ufeff\ufffe\uffff":
            raise LabelError(code, f"{what} contains the control character U+{ord(c):04X}; edit it out first")


def check_text(text: str) -> str:
    """The text as it will be written (whitespace collapsed), or LabelError('bad_text')."""
    if not isinstance(text, str) or not text.strip():
        raise LabelError("bad_text", "the text is empty")
    plain, _ = collapse(text)
    _check_chars(plain, "the text", "bad_text")
    if len(plain) > MAX_TEXT_CHARS:
        raise LabelError("bad_text", f"the text has {len(plain)} characters; at most {MAX_TEXT_CHARS} are allowed")
    if entities_parser.ENTITY_REGEX.search(plain):
        raise LabelError("bad_text", "the text contains Rasa entity markup ([...](...), [...]{...}); edit it first")
    return plain


def check_spans(text: str, spans: Sequence[EntitySpan], types: list[str]) -> list[dict[str, Any]]:
    """Spans over the raw text -> Rasa entity dicts over the collapsed text, in order."""
    plain, where = collapse(text)
    entities: list[dict[str, Any]] = []
    previous_end = 0
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        label = f"entity {span.entity!r} at {span.start}-{span.end}"
        if not (isinstance(span.start, int) and isinstance(span.end, int) and 0 <= span.start < span.end <= len(text)):
            raise LabelError("bad_span", f"{label} is not inside the text (length {len(text)})")
        if span.start < previous_end:
            raise LabelError("bad_span", f"{label} overlaps the entity before it")
        previous_end = span.end
        if span.entity not in types:
            raise LabelError("bad_span", f"{label}: unknown entity type; known: {', '.join(types)}")
        covered = text[span.start : span.end]
        if covered != covered.strip():
            raise LabelError("bad_span", f"{label} starts or ends with whitespace")
        start, end = where[span.start], where[span.end - 1] + 1
        value = plain[start:end] if span.value is None else " ".join(str(span.value).split())
        if not value or len(value) > MAX_VALUE_CHARS:
            raise LabelError("bad_span", f"{label}: the value must have 1 to {MAX_VALUE_CHARS} characters")
        _check_chars(value, f"the value of {label}", "bad_span")
        if any(c in value for c in '{}[]()"\\'):
            raise LabelError("bad_span", f"{label}: the value may not contain brackets, quotes or backslashes")
        entities.append({"start": start, "end": end, "value": value, "entity": span.entity})
    return entities


def render(plain: str, entities: list[dict[str, Any]]) -> str:
    """Rasa's annotation: [一支](quantity), or [两个]{"entity": "quantity", "value": "2"} for a new value."""
    parts, pos = [], 0
    for e in entities:
        covered = plain[e["start"] : e["end"]]
        parts.append(plain[pos : e["start"]])
        if e["value"] == covered:
            parts.append(f"[{covered}]({e['entity']})")
        else:
            parts.append(f"[{covered}]" + json.dumps({"entity": e["entity"], "value": e["value"]}, ensure_ascii=False))
        pos = e["end"]
    parts.append(plain[pos:])
    example = "".join(parts)
    try:
        parsed_text = entities_parser.replace_entities(example)
        parsed = entities_parser.find_entities_in_training_example(example)
    except Exception as exc:  # Rasa's own parser refused what we made
        raise LabelError("bad_text", f"Rasa cannot read the annotated example {example!r}: {exc}") from exc
    if parsed_text != plain or parsed != entities:
        raise LabelError("bad_text", "brackets in the text next to an entity would be misread by Rasa; edit the text")
    return example


def key(intent: str, text: str, entities: list[dict[str, Any]]) -> Key:
    return intent, text, json.dumps(sorted(entities, key=lambda e: (e["start"], e["end"])), sort_keys=True)


def _keys(data: TrainingData) -> Counter[Key]:
    return Counter(key(m.get_full_intent(), m.get("text"), m.get("entities") or []) for m in data.training_examples)


def verify(before: str, after: str, source: str, expected: Key, synonyms: set[str]) -> None:
    """The new content reads as the old plus exactly the expected example, or LabelError('bad_render')."""
    old = read(before, source) if before else TrainingData()
    try:
        new = parse(after)
    except Exception as exc:
        raise LabelError("bad_render", f"{source} would not be readable after the edit: {exc}") from exc
    problems = []
    if _keys(new) != _keys(old) + Counter([expected]):
        problems.append("the examples Rasa reads are not the old ones plus the new one")
    if new.lookup_tables != old.lookup_tables or new.regex_features != old.regex_features:
        problems.append("lookup tables or regexes changed")
    if any(old.entity_synonyms.get(k, v) != v for k, v in new.entity_synonyms.items()) or (
        set(new.entity_synonyms) - set(old.entity_synonyms) - synonyms
    ):
        problems.append("entity synonyms changed")
    if problems:
        raise LabelError("bad_render", f"{source}: {'; '.join(problems)}; nothing was written")
