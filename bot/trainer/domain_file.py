"""domain.yml for labelling: its intents and entity types, and a new intent appended as one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rasa.shared.utils.io import read_yaml

from bot.trainer.nlu_layout import LabelError, insert, open_block_list, read_text

DOMAIN_FILE = Path("domain.yml")


def read_domain(root: Path) -> dict[str, Any]:
    path = root / DOMAIN_FILE
    if not path.is_file():
        raise LabelError("bad_layout", f"{DOMAIN_FILE} not found under {root}")
    return read_yaml(read_text(root, path)) or {}


def domain_intents(root: Path) -> list[str]:
    intents = read_domain(root).get("intents") or []
    return [next(iter(i)) if isinstance(i, dict) else str(i) for i in intents]


def entity_types(root: Path) -> list[str]:
    """The entity types of domain.yml, in the domain's order."""
    entities = read_domain(root).get("entities") or []
    return [next(iter(e)) if isinstance(e, dict) else str(e) for e in entities]


def add_domain_intent(root: Path, intent: str) -> tuple[str, str, int]:
    """domain.yml with `intent` appended to `intents:` as one line: (old, new, 1-based line). Writes nothing."""
    path = root / DOMAIN_FILE
    before, lines, at, indent = open_block_list(root, path, "intents", "intent")
    after, line = insert(lines, at, [" " * indent + f"- {intent}"])
    old, new = read_yaml(before) or {}, read_yaml(after) or {}
    expected = dict(old, intents=list(old.get("intents") or []) + [intent])
    if new != expected:
        raise LabelError("bad_render", f"{DOMAIN_FILE} would change more than the new intent; nothing was written")
    return before, after, line
