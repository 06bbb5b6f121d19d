"""The NLU inbox: shopper texts the bot understood poorly, grouped by text, for trainers to label.

Plain functions taking a SQLAlchemy session (the gateway runs them in its worker threads). A text
lands here when the model fell back (nlu_fallback), when its top intent scored below the inbox
threshold, or when an agent marked the message as misunderstood in the console.
"""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import audit
from bot.trainer.inbox_models import HIT_REASONS, InboxHit, InboxItem
from bot.transcript.models import Message, now_utc

FALLBACK_INTENT = "nlu_fallback"
CONTEXT_BEFORE = 4  # messages shown before the misunderstood one
CONTEXT_AFTER = 2  # and after it (the bot's answer)


class InboxError(Exception):
    """A request the inbox refuses; `code` is stable for the API, the message is English for logs."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def normalise(text: str) -> str:
    """The form under which two texts count as the same: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def text_key(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def reason_for(nlu: dict[str, Any], *, threshold: float) -> str | None:
    """Why a parse belongs in the inbox (fallback or low_confidence), or None if it does not."""
    if nlu.get("intent") == FALLBACK_INTENT:
        return "fallback"
    confidence = nlu.get("confidence")
    if confidence is None or float(confidence) < threshold:
        return "low_confidence"
    return None


def record_understanding(
    session: Session, conversation_id: str, seq: int, nlu: dict[str, Any], *, threshold: float
) -> int | None:
    """Keep the parse on the shopper's message; file it in the inbox if it was poor. Returns the item id."""
    msg = _shopper_text(session, conversation_id, seq)
    msg.nlu = nlu
    reason = reason_for(nlu, threshold=threshold)
    if reason is None:
        return None
    return capture(session, msg, reason=reason)


def mark_misunderstood(session: Session, conversation_id: str, seq: int, *, agent_id: str) -> dict[str, Any]:
    """An agent says the bot got this shopper message wrong: file it (idempotent per message)."""
    msg = _shopper_text(session, conversation_id, seq)
    item_id = capture(session, msg, reason="agent", marked_by=agent_id)
    item = session.get(InboxItem, item_id)
    assert item is not None
    return {"item_id": item_id, "status": item.status, "hits": item.hits}


def capture(session: Session, msg: Message, *, reason: str, marked_by: str | None = None) -> int:
    """Add one hit for this message to the item of its text (created on first sight)."""
    if reason not in HIT_REASONS:
        raise ValueError(f"unknown inbox reason {reason!r}")
    item = _item_for(session, msg.text)
    nlu = msg.nlu or {}
    existing = session.execute(
        select(InboxHit).where(InboxHit.conversation_id == msg.conversation_id, InboxHit.message_seq == msg.seq)
    ).scalar_one_or_none()
    if existing is not None:
        if reason == "agent":  # an agent's judgement outranks the model's own doubt
            existing.reason, existing.marked_by = "agent", marked_by
        return int(existing.item_id)
    hit = InboxHit(
        item_id=item.id,
        conversation_id=msg.conversation_id,
        message_seq=msg.seq,
        reason=reason,
        intent=nlu.get("intent"),
        confidence=nlu.get("confidence"),
        ranking=list(nlu.get("ranking") or []),
        marked_by=marked_by,
        created_at=now_utc(),
    )
    try:
        with session.begin_nested():
            session.add(hit)
    except IntegrityError:  # the same message filed concurrently: it is counted once
        return int(item.id)
    session.execute(
        update(InboxItem).where(InboxItem.id == item.id).values(hits=InboxItem.hits + 1, last_seen=now_utc())
    )
    return int(item.id)


def _shopper_text(session: Session, conversation_id: str, seq: int) -> Message:
    msg = session.execute(
        select(Message).where(Message.conversation_id == conversation_id, Message.seq == seq)
    ).scalar_one_or_none()
    if msg is None:
        raise InboxError(404, "not_found", f"no message {seq} in {conversation_id}")
    if msg.sender != "shopper" or msg.payload or msg.photo_id or not msg.text:
        raise InboxError(422, "not_a_shopper_text", "only text a shopper typed can be filed in the inbox")
    return msg


def _item_for(session: Session, text: str) -> InboxItem:
    key = text_key(text)
    item = session.execute(select(InboxItem).where(InboxItem.text_key == key)).scalar_one_or_none()
    if item is not None:
        return item
    now = now_utc()
    item = InboxItem(text_key=key, text=text.strip(), status="open", hits=0, first_seen=now, last_seen=now)
    try:
        with session.begin_nested():
            session.add(item)
    except IntegrityError:  # another worker filed the same text first
        return session.execute(select(InboxItem).where(InboxItem.text_key == key)).scalar_one()
    return item


def list_items(
    session: Session, *, status: str = "open", days: int | None = 7, limit: int = 100
) -> list[dict[str, Any]]:
    """Items with hits in the last `days` days (all time if None), most frequent in that period first."""
    since = now_utc() - timedelta(days=days) if days else None
    hits = select(
        InboxHit.item_id,
        func.count(InboxHit.id).label("n"),
        func.max(InboxHit.created_at).label("last"),
    )
    if since is not None:
        hits = hits.where(InboxHit.created_at >= since)
    counted = hits.group_by(InboxHit.item_id).subquery()
    stmt = (
        select(InboxItem, counted.c.n)
        .join(counted, counted.c.item_id == InboxItem.id)
        .order_by(counted.c.n.desc(), counted.c.last.desc(), InboxItem.id)
        .limit(limit)
    )
    if status != "all":
        stmt = stmt.where(InboxItem.status == status)
    return [item_dict(session, item, hits_in_period=int(n), since=since) for item, n in session.execute(stmt)]


def counts(session: Session, *, days: int | None = 7) -> dict[str, int]:
    """How many distinct texts are open, labelled and dismissed among those seen in the period."""
    since = now_utc() - timedelta(days=days) if days else None
    stmt = select(InboxItem.status, func.count(InboxItem.id))
    if since is not None:
        stmt = stmt.where(InboxItem.last_seen >= since)
    out = dict.fromkeys(("open", "labelled", "dismissed"), 0)
    out.update({status: int(n) for status, n in session.execute(stmt.group_by(InboxItem.status))})
    return out


def get_item(session: Session, item_id: int) -> dict[str, Any]:
    item = session.get(InboxItem, item_id)
    if item is None:
        raise InboxError(404, "not_found", f"no inbox item {item_id}")
    return item_dict(session, item, hits_in_period=item.hits, since=None)


def item_dict(
    session: Session, item: InboxItem, *, hits_in_period: int, since: datetime | None, contexts: int = 2
) -> dict[str, Any]:
    """An item with its reasons, what the model thought the last time, and recent conversations."""
    reasons_q = select(InboxHit.reason, func.count(InboxHit.id)).where(InboxHit.item_id == item.id)
    if since is not None:
        reasons_q = reasons_q.where(InboxHit.created_at >= since)
    reasons = {r: int(n) for r, n in session.execute(reasons_q.group_by(InboxHit.reason))}
    recent = list(
        session.execute(
            select(InboxHit)
            .where(InboxHit.item_id == item.id)
            .order_by(InboxHit.created_at.desc(), InboxHit.id.desc())
            .limit(contexts)
        ).scalars()
    )
    latest = recent[0] if recent else None
    return {
        "id": item.id,
        "text": item.text,
        "status": item.status,
        "hits": item.hits,
        "hits_in_period": hits_in_period,
        "reasons": reasons,
        "first_seen": _iso(item.first_seen),
        "last_seen": _iso(item.last_seen),
        "model": {
            "intent": latest.intent if latest else None,
            "confidence": latest.confidence if latest else None,
            "ranking": [r for r in (latest.ranking if latest else []) if r.get("name") != FALLBACK_INTENT][:3],
        },
        "label": {
            "intent": item.label_intent,
            "entities": item.label_entities or [],
            "file": item.label_file,
            "by": item.decided_by,
            "at": _iso(item.decided_at),
        },
        "contexts": [_context(session, hit) for hit in recent],
    }


def _context(session: Session, hit: InboxHit) -> dict[str, Any]:
    rows = session.execute(
        select(Message)
        .where(
            Message.conversation_id == hit.conversation_id,
            Message.seq >= hit.message_seq - CONTEXT_BEFORE,
            Message.seq <= hit.message_seq + CONTEXT_AFTER,
        )
        .order_by(Message.seq)
    ).scalars()
    return {
        "conversation_id": hit.conversation_id,
        "seq": hit.message_seq,
        "reason": hit.reason,
        "marked_by": hit.marked_by,
        "at": _iso(hit.created_at),
        "messages": [
            {"seq": m.seq, "sender": m.sender, "text": m.text or ("[照片]" if m.photo_id else ""),
             "this": m.seq == hit.message_seq}
            for m in rows
        ],
    }


def begin_label(session: Session, item_id: int) -> dict[str, Any]:
    """The item about to be labelled (its text is what goes into the data), or why it cannot be."""
    item = session.get(InboxItem, item_id)
    if item is None:
        raise InboxError(404, "not_found", f"no inbox item {item_id}")
    return {"id": item.id, "text": item.text, "status": item.status, "label_intent": item.label_intent}


def finish_label(
    session: Session, item_id: int, *, intent: str, entities: list[dict[str, Any]], file: str, trainer: str
) -> dict[str, Any]:
    """Record the label once the example is in data/nlu (conditional: a labelled item stays as it is), and
    write it to the audit log in the same transaction."""
    before = session.execute(select(InboxItem.status).where(InboxItem.id == item_id)).scalar()
    done = session.execute(
        update(InboxItem)
        .where(InboxItem.id == item_id, InboxItem.status.in_(("open", "dismissed")))
        .values(status="labelled", label_intent=intent, label_entities=entities, label_file=file,
                decided_by=trainer, decided_at=now_utc())
    ).rowcount
    if not done:
        current = session.get(InboxItem, item_id)
        if current is None or current.label_intent != intent:
            raise InboxError(409, "already_labelled", f"item {item_id} is already labelled differently")
    else:
        audit.record(session, role="trainer", actor=trainer, action="label", item_id=item_id,
                     before={"status": before}, after={"status": "labelled", "intent": intent})
    return get_item(session, item_id)


def dismiss(session: Session, item_id: int, *, trainer: str) -> dict[str, Any]:
    """Not worth an example (spam, noise): hide it from the open list. Idempotent."""
    item = session.get(InboxItem, item_id)
    if item is None:
        raise InboxError(404, "not_found", f"no inbox item {item_id}")
    if item.status == "labelled":
        raise InboxError(409, "already_labelled", f"item {item_id} is labelled; it cannot be dismissed")
    session.execute(
        update(InboxItem).where(InboxItem.id == item_id, InboxItem.status == "open")
        .values(status="dismissed", decided_by=trainer, decided_at=now_utc())
    )
    return get_item(session, item_id)


def reopen(session: Session, item_id: int) -> dict[str, Any]:
    """Undo a dismissal."""
    session.execute(
        update(InboxItem).where(InboxItem.id == item_id, InboxItem.status == "dismissed")
        .values(status="open", decided_by=None, decided_at=None)
    )
    return get_item(session, item_id)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
