"""Write a trainer's labelled example into the right data/nlu file, changing nothing else in it.

Pure functions over a project root (no web code). Every write is one inserted line (plus, for a new
intent, one block and one domain.yml line), checked with Rasa's own YAML reader before and after.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import re
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rasa.shared.constants import LATEST_TRAINING_DATA_FORMAT_VERSION
from rasa.shared.core.constants import DEFAULT_INTENTS
from rasa.shared.nlu.training_data import entities_parser
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.utils.io import read_yaml

from bot.trainer.datacheck_load import normalise

NLU_DIR = Path("data/nlu")
DOMAIN_FILE = Path("domain.yml")
LOCK_FILE = Path("var/nlu.lock")  # var/ is gitignored
MAX_TEXT_CHARS = 200
MAX_VALUE_CHARS = 100
INTENT_NAME = re.compile(r"^(?:(?P<parent>[a-z][a-z0-9_]*)/)?(?P<name>[a-z][a-z0-9_]*)$")
MAX_INTENT_CHARS = 64
# Intents Rasa predicts itself (nlu_fallback) or handles specially; out_of_scope is ours to label.
RESERVED_INTENTS = frozenset(DEFAULT_INTENTS) - {"out_of_scope"}
# Bidirectional controls make a pull-request diff show something other than what is stored.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

_INTENT_LINE = re.compile(r"^(?P<indent> *)- intent: *(?P<q>[\"']?)(?P<name>[^\"'#\s]+)(?P=q) *(?:#.*)?$")
_EXAMPLES_LITERAL = re.compile(r"^ *examples: *\|[+-]? *(?:#.*)?$")


class LabelError(Exception):
    """A labelled example that cannot be written; `code` is stable, the message is English."""

    def __init__(self, code: str, message: str, *, intent: str | None = None, file: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.intent = intent  # for `duplicate`: the intent that already has this example
        self.file = file  # for `duplicate`: where it is (relative path)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class EntitySpan:
    """An entity over character offsets [start, end) of the text; value None means the covered text."""

    start: int
    end: int
    entity: str
    value: str | None = None


@dataclass(frozen=True)
class AddedExample:
    """What was written: `line_text` is line `line` (1-based) of `file` (relative to the root)."""

    file: str
    line: int
    line_text: str
    example: str  # the annotated example, as Rasa reads it
    text: str  # the plain text written (whitespace collapsed)
    new_intent: bool
    domain_line: int | None = None  # line of domain.yml that lists the new intent
    note: str | None = None  # what else the new intent needs before it does anything


# --- reading the project --------------------------------------------------------------------------


def known_intents(root: Path) -> list[str]:
    """The intents a trainer may pick: domain intents and retrieval sub-intents (faq/x), sorted."""
    names = {name for lines in _nlu_sources(root).values() for name in _intent_blocks(lines)}
    return _known(_domain_intents(root), names)


def _known(domain_intents: list[str], block_names: set[str]) -> list[str]:
    subs = {name for name in block_names if "/" in name}
    plain = {name for name in domain_intents if name not in _parents(block_names) and name not in RESERVED_INTENTS}
    return sorted(plain | subs)


def _parents(block_names: set[str]) -> set[str]:
    """Retrieval intents: those with sub-intents (faq for faq/refund_time)."""
    return {name.split("/", 1)[0] for name in block_names if "/" in name}


def entity_types(root: Path) -> list[str]:
    """The entity types of domain.yml, in the domain's order."""
    entities = _read_domain(root).get("entities") or []
    return [next(iter(e)) if isinstance(e, dict) else str(e) for e in entities]


def marked_entity_types(root: Path) -> list[str]:
    """The entity types trainers mark by hand: those annotated in data/nlu examples (today: item), domain order.

    Quantities, order ids and amounts come from the rule patterns in data/entities/, not from annotations;
    marking them in examples would teach DIET to extract them a second time.
    """
    marked = {
        entity["entity"]
        for path in _nlu_paths(root)
        for message in _read(_read_text(root, path), _rel(root, path)).training_examples
        for entity in message.get("entities") or []
    }
    return [name for name in entity_types(root) if name in marked]


def _read_domain(root: Path) -> dict[str, Any]:
    path = root / DOMAIN_FILE
    if not path.is_file():
        raise LabelError("bad_layout", f"{DOMAIN_FILE} not found under {root}")
    return read_yaml(_read_text(root, path)) or {}


def _domain_intents(root: Path) -> list[str]:
    intents = _read_domain(root).get("intents") or []
    return [next(iter(i)) if isinstance(i, dict) else str(i) for i in intents]


def _nlu_paths(root: Path) -> list[Path]:
    base = root / NLU_DIR
    return sorted(p for p in base.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def _nlu_sources(root: Path) -> dict[Path, list[str]]:
    return {p: _split_lines(_read_text(root, p)) for p in _nlu_paths(root)}


def _read_text(root: Path, path: Path) -> str:
    """The file as stored: bytes decoded without newline translation, so CRLF files stay CRLF."""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LabelError("bad_layout", f"{_rel(root, path)} is not UTF-8: {exc}") from exc


def _split_lines(content: str) -> list[str]:
    """Lines with their own endings; only \\n ends a line (str.splitlines also splits on U+2028...)."""
    return re.findall(r"[^\n]*\n|[^\n]+$", content)


def _bare(line: str) -> str:
    return line.rstrip("\r\n")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _blank(line: str) -> bool:
    return not _bare(line).strip()


def _comment(line: str) -> bool:
    return _bare(line).lstrip().startswith("#")


@dataclass(frozen=True)
class _Block:
    insert_at: int  # index in the file's lines where the new example line goes
    indent: int  # columns before the example's "-"


def _intent_blocks(lines: list[str]) -> dict[str, _Block | None]:
    """Each `- intent: x` / `examples: |` item of the nlu list; None when the layout is not that one."""
    key = _top_key(lines, "nlu")
    if key is None:
        return {}
    end, item_indent = _list_end(lines, key)
    blocks: dict[str, _Block | None] = {}
    for i in range(key + 1, end):
        match = _INTENT_LINE.match(_bare(lines[i]))
        if match and len(match["indent"]) == item_indent:
            blocks.setdefault(match["name"], _examples_block(lines, i, item_indent + 2))
    return blocks


def _examples_block(lines: list[str], item: int, key_col: int) -> _Block | None:
    i = item + 1
    while i < len(lines) and (_blank(lines[i]) or _indent(lines[i]) >= key_col):
        if _indent(lines[i]) == key_col and _bare(lines[i]).lstrip().startswith("examples:"):
            return _literal_end(lines, i, key_col) if _EXAMPLES_LITERAL.match(_bare(lines[i])) else None
        i += 1
    return None


def _literal_end(lines: list[str], header: int, key_col: int) -> _Block:
    """Where a literal block scalar's last non-blank line is, and its content indentation."""
    last, indent = header, key_col + 2
    i = header + 1
    while i < len(lines) and _blank(lines[i]):
        i += 1
    if i < len(lines) and _indent(lines[i]) > key_col:
        indent = _indent(lines[i])
        while i < len(lines) and (_blank(lines[i]) or _indent(lines[i]) >= indent):
            if not _blank(lines[i]):
                last = i
            i += 1
    return _Block(insert_at=last + 1, indent=indent)


def _list_end(lines: list[str], key: int) -> tuple[int, int]:
    """After the block list under the top-level key at `key`: (index to insert at, item indent)."""
    last, item_indent = key, 2
    i = key + 1
    while i < len(lines) and (_blank(lines[i]) or _comment(lines[i])):
        i += 1
    if i < len(lines) and _bare(lines[i]).lstrip().startswith("-"):
        item_indent = _indent(lines[i])
        while i < len(lines):
            line = _bare(lines[i])
            if _blank(line) or _comment(line):
                i += 1
                continue
            if _indent(line) > item_indent or (_indent(line) == item_indent and line.lstrip().startswith("-")):
                last = i
                i += 1
                continue
            break
    return last + 1, item_indent


def _top_key(lines: list[str], key: str) -> int | None:
    """The line of top-level `key:` when it opens a block (not `key: [a, b]`), else None."""
    for i, raw in enumerate(lines):
        line = _bare(raw)
        if line.startswith(f"{key}:") and not line[len(key) + 1 :].split("#", 1)[0].strip():
            return i
    return None


# --- text, spans and rendering --------------------------------------------------------------------


def _collapse(text: str) -> tuple[str, list[int]]:
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


def _check_text(text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise LabelError("bad_text", "the text is empty")
    plain, _ = _collapse(text)
    _check_chars(plain, "the text", "bad_text")
    if len(plain) > MAX_TEXT_CHARS:
        raise LabelError("bad_text", f"the text has {len(plain)} characters; at most {MAX_TEXT_CHARS} are allowed")
    if entities_parser.ENTITY_REGEX.search(plain):
        raise LabelError("bad_text", "the text contains Rasa entity markup ([...](...), [...]{...}); edit it first")
    return plain


def _check_spans(text: str, spans: Sequence[EntitySpan], types: list[str]) -> list[dict[str, Any]]:
    """Spans over the raw text -> Rasa entity dicts over the collapsed text, in order."""
    plain, where = _collapse(text)
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


def _render(plain: str, entities: list[dict[str, Any]]) -> str:
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


# --- checking what Rasa reads ---------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _parse(content: str) -> TrainingData:
    """Rasa's reading of one file's content; cached because every label re-reads every NLU file."""
    return RasaYAMLReader().reads(content)


def _read(content: str, source: str) -> TrainingData:
    try:
        return _parse(content)
    except Exception as exc:
        raise LabelError("bad_layout", f"Rasa cannot read {source}: {exc}") from exc


def _key(intent: str, text: str, entities: list[dict[str, Any]]) -> tuple[str, str, str]:
    return intent, text, json.dumps(sorted(entities, key=lambda e: (e["start"], e["end"])), sort_keys=True)


def _keys(data: TrainingData) -> Counter[tuple[str, str, str]]:
    return Counter(_key(m.get_full_intent(), m.get("text"), m.get("entities") or []) for m in data.training_examples)


def _verify(before: str, after: str, source: str, expected: tuple[str, str, str], synonyms: set[str]) -> None:
    """The new content reads as the old plus exactly the expected example, or LabelError('bad_render')."""
    old = _read(before, source) if before else TrainingData()
    try:
        new = _parse(after)
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


# --- writing ---------------------------------------------------------------------------------------


@contextmanager
def nlu_lock(root: Path) -> Iterator[None]:
    """Exclusive lock over data/nlu and domain.yml edits (threads and processes alike)."""
    path = root / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomic(path: Path, content: str) -> None:
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _restore(path: Path, original: str | None) -> None:
    if original is None:
        path.unlink(missing_ok=True)
    else:
        _write_atomic(path, original)


def _insert(lines: list[str], at: int, new: Sequence[str]) -> tuple[str, int]:
    """Insert `new` lines at index `at` with the file's line ending; (content, 1-based first line)."""
    eol = "\r\n" if any(line.endswith("\r\n") for line in lines) else "\n"
    lines = list(lines)
    if at == len(lines) and lines and not lines[-1].endswith("\n"):
        lines[-1] += eol  # the old last line had no newline; the new last line will have none either
        added = [line + eol for line in new[:-1]] + [new[-1]]
    else:
        added = [line + eol for line in new]
    return "".join(lines[:at] + added + lines[at:]), at + 1


def _add_domain_intent(root: Path, intent: str) -> tuple[str, str, int]:
    """domain.yml with `intent` appended to `intents:` as one line: (old, new, 1-based line)."""
    path = root / DOMAIN_FILE
    before = _read_text(root, path)
    lines = _split_lines(before)
    key = _top_key(lines, "intents")
    if key is None:
        raise LabelError("bad_layout", f"{DOMAIN_FILE} has no `intents:` block list; add the intent by hand")
    at, indent = _list_end(lines, key)
    after, line = _insert(lines, at, [" " * indent + f"- {intent}"])
    old, new = read_yaml(before) or {}, read_yaml(after) or {}
    expected = dict(old, intents=list(old.get("intents") or []) + [intent])
    if new != expected:
        raise LabelError("bad_render", f"{DOMAIN_FILE} would change more than the new intent; nothing was written")
    return before, after, line


def add_example(root: Path, *, intent: str, text: str, entities: Sequence[EntitySpan] = ()) -> AddedExample:
    """Write `text` (with entity spans) as the last example of `intent`, creating the intent if new.

    Whitespace runs in the text (newlines included) become one space and the ends are stripped; span
    offsets are over the text as given. Raises LabelError: bad_intent, bad_text, bad_span,
    duplicate (with .intent and .file of the existing example), bad_layout, bad_render.
    """
    intent = intent.strip() if isinstance(intent, str) else ""
    match = INTENT_NAME.match(intent)
    if not match or len(intent) > MAX_INTENT_CHARS:
        raise LabelError("bad_intent", f"{intent!r} is not an intent name (a-z, 0-9, _; faq/<name> for an FAQ)")
    if intent in RESERVED_INTENTS:
        raise LabelError("bad_intent", f"{intent!r} is predicted by Rasa itself and cannot be labelled")
    plain = _check_text(text)
    ents = _check_spans(text, entities, entity_types(root))
    example = _render(plain, ents)
    expected = _key(intent, plain, ents)
    synonyms = {plain[e["start"] : e["end"]] for e in ents if plain[e["start"] : e["end"]] != e["value"]}

    with nlu_lock(root):
        sources = _nlu_sources(root)
        parsed = {p: _read("".join(lines), _rel(root, p)) for p, lines in sources.items()}
        _refuse_duplicate(root, plain, parsed)
        _refuse_synonym_conflict(ents, plain, parsed)
        blocks = {p: _intent_blocks(lines) for p, lines in sources.items()}
        names = {n for b in blocks.values() for n in b}
        domain_intents = _domain_intents(root)
        known = _known(domain_intents, names)
        parent = match["parent"]
        if parent and parent not in _parents(names):
            raise LabelError("bad_intent", f"{parent!r} is not a retrieval intent; use one of the known intents")
        if not parent and intent in _parents(names):
            raise LabelError("bad_intent", f"{intent!r} is a retrieval intent; pick one of its sub-intents")

        path, before, after, line = _place(root, intent, parent, example, sources, blocks, parsed)
        _verify(before, after, _rel(root, path), expected, synonyms)
        domain = _add_domain_intent(root, intent) if not parent and intent not in domain_intents else None
        _commit(root, path, before, after, domain, expected, synonyms)

    new_intent = intent not in known
    return AddedExample(
        file=_rel(root, path),
        line=line,
        line_text=_bare(_split_lines(after)[line - 1]),
        example=example,
        text=plain,
        new_intent=new_intent,
        domain_line=domain[2] if domain else None,
        note=_note(intent, parent) if new_intent else None,
    )


def _place(
    root: Path,
    intent: str,
    parent: str | None,
    example: str,
    sources: dict[Path, list[str]],
    blocks: dict[Path, dict[str, _Block | None]],
    parsed: dict[Path, TrainingData],
) -> tuple[Path, str, str, int]:
    """Where the example goes: (file, content before, content after, 1-based line of the example)."""
    found = [(p, b[intent]) for p, b in blocks.items() if intent in b]
    if not found:
        # Rasa reads the intent somewhere the line scan does not understand: never guess.
        found = [(p, None) for p, d in parsed.items() if intent in {m.get_full_intent() for m in d.training_examples}]
    if not found:
        return _new_block(root, intent, example, parent, blocks)
    path, block = found[0]
    if block is None:
        raise LabelError("bad_layout", f"{_rel(root, path)} does not hold {intent} as `examples: |`; add it by hand")
    before = "".join(sources[path])
    after, line = _insert(sources[path], block.insert_at, [" " * block.indent + f"- {example}"])
    return path, before, after, line


def _commit(
    root: Path,
    path: Path,
    before: str,
    after: str,
    domain: tuple[str, str, int] | None,
    expected: tuple[str, str, str],
    synonyms: set[str],
) -> None:
    """Write the NLU file (and domain.yml), re-read it with Rasa; on any failure put the originals back."""
    original = before if path.exists() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, after)
    try:
        _verify(before, _read_text(root, path), _rel(root, path), expected, synonyms)
        if domain is not None:
            _write_atomic(root / DOMAIN_FILE, domain[1])
            if _read_text(root, root / DOMAIN_FILE) != domain[1]:
                _restore(root / DOMAIN_FILE, domain[0])
                raise LabelError("bad_render", f"{DOMAIN_FILE} did not read back as written; restored")
    except BaseException:
        _restore(path, original)
        raise


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _refuse_duplicate(root: Path, plain: str, parsed: dict[Path, TrainingData]) -> None:
    wanted = normalise(plain)
    for path, data in parsed.items():
        for m in data.training_examples:
            text = m.get("text") or ""
            if m.get_full_intent() and normalise(text) == wanted:
                existing, file = m.get_full_intent(), _rel(root, path)
                same = "" if text == plain else f" (as {text!r})"
                raise LabelError(
                    "duplicate",
                    f"{plain!r} is already an example of {existing} in {file}{same}",
                    intent=existing,
                    file=file,
                )


def _refuse_synonym_conflict(ents: list[dict[str, Any]], plain: str, parsed: dict[Path, TrainingData]) -> None:
    synonyms: dict[str, str] = {}
    for data in parsed.values():
        synonyms.update(data.entity_synonyms)
    for e in ents:
        covered = plain[e["start"] : e["end"]]
        if covered != e["value"] and synonyms.get(covered, e["value"]) != e["value"]:
            raise LabelError(
                "bad_span", f"{covered!r} already means {synonyms[covered]!r} in the data, not {e['value']!r}"
            )


def _new_block(
    root: Path, intent: str, example: str, parent: str | None, blocks: dict[Path, dict[str, _Block | None]]
) -> tuple[Path, str, str, int]:
    """A new `- intent:` block: a retrieval sub-intent beside its siblings, else data/nlu/<intent>.yml."""
    siblings = [p for p, b in blocks.items() if any(n.startswith(f"{parent}/") for n in b)] if parent else []
    path = siblings[0] if siblings else root / NLU_DIR / f"{(parent or intent)}.yml"
    if not path.exists():
        before = ""
        lines = _split_lines(f'version: "{LATEST_TRAINING_DATA_FORMAT_VERSION}"\n\nnlu:\n')
        at, indent = len(lines), 2
    else:
        before = _read_text(root, path)
        lines = _split_lines(before)
        key = _top_key(lines, "nlu")
        if key is None:
            raise LabelError("bad_layout", f"{_rel(root, path)} has no `nlu:` block list; add the example by hand")
        at, indent = _list_end(lines, key)
    pad = " " * indent
    after, first = _insert(lines, at, [f"{pad}- intent: {intent}", f"{pad}  examples: |", f"{pad}    - {example}"])
    return path, before, after, first + 2


def _note(intent: str, parent: str | None) -> str:
    if parent:
        return f"{intent} is a new answer of {parent}: it needs a response utter_{intent} in domain.yml."
    return f"{intent} is a new intent: it needs a rule or story and a response before the bot does anything with it."
