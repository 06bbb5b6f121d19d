"""Labelling an inbox item: the example goes into data/nlu first, then SQL records the decision.

If the SQL step fails after the file was written, labelling again finds the example already there
under the same intent and only records it, so a retry never writes twice and never loses a label.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import anyio.to_thread

from bot.trainer import inbox, nlu_files

log = logging.getLogger(__name__)
T = TypeVar("T")


class Database(Protocol):
    """What labelling needs of the caller's database (the gateway's bot.gateway.store.Database is one): run
    `fn(session, *args, **kwargs)` in its own transaction, off the event loop, and return its result."""

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T: ...


async def label_item(
    db: Database, root: Path, item_id: int, *, intent: str, entities: list[dict[str, Any]], trainer: str
) -> dict[str, Any]:
    """Write the item's text as an example of `intent` (with entity spans) and mark it labelled."""
    item = await db.run(inbox.begin_label, item_id)
    if item["status"] == "labelled":
        if item["label_intent"] == intent:
            return await db.run(inbox.get_item, item_id)  # a repeated click: already done
        raise inbox.InboxError(409, "already_labelled", f"item {item_id} is labelled {item['label_intent']}")
    spans = [
        nlu_files.EntitySpan(start=int(e["start"]), end=int(e["end"]), entity=str(e["entity"]),
                             value=(str(e["value"]) if e.get("value") not in (None, "") else None))
        for e in entities
    ]
    try:
        added = await anyio.to_thread.run_sync(
            lambda: nlu_files.add_example(root, intent=intent, text=item["text"], entities=spans)
        )
        file = added.file
        log.info("trainer %s labelled inbox item %s as %s in %s:%s", trainer, item_id, intent, added.file, added.line)
    except nlu_files.LabelError as exc:
        existing = getattr(exc, "intent", None)
        if exc.code != "duplicate" or existing != intent:
            raise inbox.InboxError(409 if exc.code == "duplicate" else 422, exc.code, str(exc)) from exc
        file = str(getattr(exc, "file", "") or "")  # already in the data under this intent: record it
    stored = [{"start": s.start, "end": s.end, "entity": s.entity, "value": s.value} for s in spans]
    return await db.run(inbox.finish_label, item_id, intent=intent, entities=stored, file=str(file), trainer=trainer)
