"""Write a trainer's labelled example into the right data/nlu file, changing nothing else in it.

Pure functions over a project root (no web code). Every write is one inserted line (plus, for a new
intent, one block and one domain.yml line), checked with Rasa's own YAML reader before and after.
The parts live beside this module: the files' layout (nlu_layout), the example's checks and rendering
(example_check), domain.yml (domain_file), the lock and atomic writes (atomic_files).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rasa.shared.constants import LATEST_TRAINING_DATA_FORMAT_VERSION
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.trainer.atomic_files import nlu_lock, restore, write_atomic
from bot.trainer.datacheck_load import normalise
from bot.trainer.domain_file import DOMAIN_FILE, add_domain_intent, domain_intents, entity_types
from bot.trainer.example_check import (
    RESERVED_INTENTS,
    EntitySpan,
    Key,
    check_intent,
    check_spans,
    check_text,
    key,
    render,
    verify,
)
from bot.trainer.nlu_layout import (
    NLU_DIR,
    Block,
    LabelError,
    bare,
    insert,
    intent_blocks,
    nlu_paths,
    nlu_sources,
    open_block_list,
    read,
    read_text,
    rel,
    split_lines,
)

__all__ = ["AddedExample", "EntitySpan", "LabelError", "add_example", "entity_types", "known_intents",
           "marked_entity_types", "nlu_lock"]


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


# --- what a trainer may pick -----------------------------------------------------------------------


def known_intents(root: Path) -> list[str]:
    """The intents a trainer may pick: domain intents and retrieval sub-intents (faq/x), sorted."""
    names = {name for lines in nlu_sources(root).values() for name in intent_blocks(lines)}
    return _known(domain_intents(root), names)


def _known(domain: list[str], block_names: set[str]) -> list[str]:
    subs = {name for name in block_names if "/" in name}
    plain = {name for name in domain if name not in _parents(block_names) and name not in RESERVED_INTENTS}
    return sorted(plain | subs)


def _parents(block_names: set[str]) -> set[str]:
    """Retrieval intents: those with sub-intents (faq for faq/refund_time)."""
    return {name.split("/", 1)[0] for name in block_names if "/" in name}


def marked_entity_types(root: Path) -> list[str]:
    """The entity types trainers mark by hand: those annotated in data/nlu examples (today: item), domain order.

    Quantities, order ids and amounts come from the rule patterns in data/entities/, not from annotations;
    marking them in examples would teach DIET to extract them a second time.
    """
    marked = {
        entity["entity"]
        for path in nlu_paths(root)
        for message in read(read_text(root, path), rel(root, path)).training_examples
        for entity in message.get("entities") or []
    }
    return [name for name in entity_types(root) if name in marked]


# --- writing one example ---------------------------------------------------------------------------


def add_example(root: Path, *, intent: str, text: str, entities: Sequence[EntitySpan] = ()) -> AddedExample:
    """Write `text` (with entity spans) as the last example of `intent`, creating the intent if new.

    Whitespace runs in the text (newlines included) become one space and the ends are stripped; span
    offsets are over the text as given. Raises LabelError: bad_intent, bad_text, bad_span,
    duplicate (with .intent and .file of the existing example), bad_layout, bad_render.
    """
    intent, parent = check_intent(intent)
    plain = check_text(text)
    ents = check_spans(text, entities, entity_types(root))
    example = render(plain, ents)
    expected = key(intent, plain, ents)
    synonyms = {plain[e["start"] : e["end"]] for e in ents if plain[e["start"] : e["end"]] != e["value"]}

    with nlu_lock(root):
        sources = nlu_sources(root)
        parsed = {p: read("".join(lines), rel(root, p)) for p, lines in sources.items()}
        _refuse_duplicate(root, plain, parsed)
        _refuse_synonym_conflict(ents, plain, parsed)
        blocks = {p: intent_blocks(lines) for p, lines in sources.items()}
        names = {n for b in blocks.values() for n in b}
        domain = domain_intents(root)
        known = _known(domain, names)
        if parent and parent not in _parents(names):
            raise LabelError("bad_intent", f"{parent!r} is not a retrieval intent; use one of the known intents")
        if not parent and intent in _parents(names):
            raise LabelError("bad_intent", f"{intent!r} is a retrieval intent; pick one of its sub-intents")

        path, before, after, line = _place(root, intent, parent, example, sources, blocks, parsed)
        verify(before, after, rel(root, path), expected, synonyms)
        domain_edit = add_domain_intent(root, intent) if not parent and intent not in domain else None
        _commit(root, path, before, after, domain_edit, expected, synonyms)

    new_intent = intent not in known
    return AddedExample(
        file=rel(root, path),
        line=line,
        line_text=bare(split_lines(after)[line - 1]),
        example=example,
        text=plain,
        new_intent=new_intent,
        domain_line=domain_edit[2] if domain_edit else None,
        note=_note(intent, parent) if new_intent else None,
    )


def _place(
    root: Path,
    intent: str,
    parent: str | None,
    example: str,
    sources: dict[Path, list[str]],
    blocks: dict[Path, dict[str, Block | None]],
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
        raise LabelError("bad_layout", f"{rel(root, path)} does not hold {intent} as `examples: |`; add it by hand")
    before = "".join(sources[path])
    after, line = insert(sources[path], block.insert_at, [" " * block.indent + f"- {example}"])
    return path, before, after, line


def _new_block(
    root: Path, intent: str, example: str, parent: str | None, blocks: dict[Path, dict[str, Block | None]]
) -> tuple[Path, str, str, int]:
    """A new `- intent:` block: a retrieval sub-intent beside its siblings, else data/nlu/<intent>.yml."""
    siblings = [p for p, b in blocks.items() if any(n.startswith(f"{parent}/") for n in b)] if parent else []
    path = siblings[0] if siblings else root / NLU_DIR / f"{(parent or intent)}.yml"
    if not path.exists():
        before = ""
        lines = split_lines(f'version: "{LATEST_TRAINING_DATA_FORMAT_VERSION}"\n\nnlu:\n')
        at, indent = len(lines), 2
    else:
        before, lines, at, indent = open_block_list(root, path, "nlu", "example")
    pad = " " * indent
    after, first = insert(lines, at, [f"{pad}- intent: {intent}", f"{pad}  examples: |", f"{pad}    - {example}"])
    return path, before, after, first + 2


def _commit(
    root: Path,
    path: Path,
    before: str,
    after: str,
    domain: tuple[str, str, int] | None,
    expected: Key,
    synonyms: set[str],
) -> None:
    """Write the NLU file (and domain.yml), re-read it with Rasa; on any failure put the originals back."""
    original = before if path.exists() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, after)
    try:
        verify(before, read_text(root, path), rel(root, path), expected, synonyms)
        if domain is not None:
            write_atomic(root / DOMAIN_FILE, domain[1])
            if read_text(root, root / DOMAIN_FILE) != domain[1]:
                restore(root / DOMAIN_FILE, domain[0])
                raise LabelError("bad_render", f"{DOMAIN_FILE} did not read back as written; restored")
    except BaseException:
        restore(path, original)
        raise


def _refuse_duplicate(root: Path, plain: str, parsed: dict[Path, TrainingData]) -> None:
    wanted = normalise(plain)
    for path, data in parsed.items():
        for m in data.training_examples:
            text = m.get("text") or ""
            if m.get_full_intent() and normalise(text) == wanted:
                existing, file = m.get_full_intent(), rel(root, path)
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


def _note(intent: str, parent: str | None) -> str:
    if parent:
        return f"{intent} is a new answer of {parent}: it needs a response utter_{intent} in domain.yml."
    return f"{intent} is a new intent: it needs a rule or story and a response before the bot does anything with it."
