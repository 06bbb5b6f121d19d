"""The data/nlu files as lines: where each `- intent:` block is, where a new example or block goes, and what
Rasa's own reader makes of a file. Used by labelling (bot.trainer.nlu_files) and the domain edit.

Nothing here writes; every function takes the file's lines as stored (line endings kept).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.training_data import TrainingData

NLU_DIR = Path("data/nlu")

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


# --- the files -------------------------------------------------------------------------------------


def nlu_paths(root: Path) -> list[Path]:
    base = root / NLU_DIR
    return sorted(p for p in base.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def nlu_sources(root: Path) -> dict[Path, list[str]]:
    return {p: split_lines(read_text(root, p)) for p in nlu_paths(root)}


def read_text(root: Path, path: Path) -> str:
    """The file as stored: bytes decoded without newline translation, so CRLF files stay CRLF."""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LabelError("bad_layout", f"{rel(root, path)} is not UTF-8: {exc}") from exc


def rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


@functools.lru_cache(maxsize=64)
def parse(content: str) -> TrainingData:
    """Rasa's reading of one file's content; cached because every label re-reads every NLU file."""
    return RasaYAMLReader().reads(content)


def read(content: str, source: str) -> TrainingData:
    try:
        return parse(content)
    except Exception as exc:
        raise LabelError("bad_layout", f"Rasa cannot read {source}: {exc}") from exc


# --- lines -----------------------------------------------------------------------------------------


def split_lines(content: str) -> list[str]:
    """Lines with their own endings; only \\n ends a line (str.splitlines also splits on U+2028...)."""
    return re.findall(r"[^\n]*\n|[^\n]+$", content)


def bare(line: str) -> str:
    return line.rstrip("\r\n")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _blank(line: str) -> bool:
    return not bare(line).strip()


def _comment(line: str) -> bool:
    return bare(line).lstrip().startswith("#")


@dataclass(frozen=True)
class Block:
    insert_at: int  # index in the file's lines where the new example line goes
    indent: int  # columns before the example's "-"


def intent_blocks(lines: list[str]) -> dict[str, Block | None]:
    """Each `- intent: x` / `examples: |` item of the nlu list; None when the layout is not that one."""
    key = top_key(lines, "nlu")
    if key is None:
        return {}
    end, item_indent = list_end(lines, key)
    blocks: dict[str, Block | None] = {}
    for i in range(key + 1, end):
        match = _INTENT_LINE.match(bare(lines[i]))
        if match and len(match["indent"]) == item_indent:
            blocks.setdefault(match["name"], _examples_block(lines, i, item_indent + 2))
    return blocks


def _examples_block(lines: list[str], item: int, key_col: int) -> Block | None:
    i = item + 1
    while i < len(lines) and (_blank(lines[i]) or _indent(lines[i]) >= key_col):
        if _indent(lines[i]) == key_col and bare(lines[i]).lstrip().startswith("examples:"):
            return _literal_end(lines, i, key_col) if _EXAMPLES_LITERAL.match(bare(lines[i])) else None
        i += 1
    return None


def _literal_end(lines: list[str], header: int, key_col: int) -> Block:
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
    return Block(insert_at=last + 1, indent=indent)


def list_end(lines: list[str], key: int) -> tuple[int, int]:
    """After the block list under the top-level key at `key`: (index to insert at, item indent)."""
    last, item_indent = key, 2
    i = key + 1
    while i < len(lines) and (_blank(lines[i]) or _comment(lines[i])):
        i += 1
    if i < len(lines) and bare(lines[i]).lstrip().startswith("-"):
        item_indent = _indent(lines[i])
        while i < len(lines):
            line = bare(lines[i])
            if _blank(line) or _comment(line):
                i += 1
                continue
            if _indent(line) > item_indent or (_indent(line) == item_indent and line.lstrip().startswith("-")):
                last = i
                i += 1
                continue
            break
    return last + 1, item_indent


def top_key(lines: list[str], key: str) -> int | None:
    """The line of top-level `key:` when it opens a block (not `key: [a, b]`), else None."""
    for i, raw in enumerate(lines):
        line = bare(raw)
        if line.startswith(f"{key}:") and not line[len(key) + 1 :].split("#", 1)[0].strip():
            return i
    return None


def open_block_list(root: Path, path: Path, key: str, what: str) -> tuple[str, list[str], int, int]:
    """A file read for appending to its top-level `key:` block list: (content, lines, insert index, item indent).

    A file without that block list (e.g. `key: [a, b]`) is refused: `what` would have to be added by hand.
    """
    before = read_text(root, path)
    lines = split_lines(before)
    at = top_key(lines, key)
    if at is None:
        raise LabelError("bad_layout", f"{rel(root, path)} has no `{key}:` block list; add the {what} by hand")
    return (before, lines, *list_end(lines, at))


def insert(lines: list[str], at: int, new: Sequence[str]) -> tuple[str, int]:
    """Insert `new` lines at index `at` with the file's line ending; (content, 1-based first line)."""
    eol = "\r\n" if any(line.endswith("\r\n") for line in lines) else "\n"
    lines = list(lines)
    if at == len(lines) and lines and not lines[-1].endswith("\n"):
        lines[-1] += eol  # the old last line had no newline; the new last line will have none either
        added = [line + eol for line in new[:-1]] + [new[-1]]
    else:
        added = [line + eol for line in new]
    return "".join(lines[:at] + added + lines[at:]), at + 1
