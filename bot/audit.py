"""The staff audit log: who (role, subject) did what (claim, release, assign, approve, reject, label), when, to
which conversation, refund or inbox item, and the state before and after.

Append-only: this module only inserts and reads; there is no update or delete path in the code, and the database
refuses both (triggers on PostgreSQL and SQLite, migration 0006). Writers record in the same transaction as the
change where the change is in the gateway's SQL (claim, release, assign in bot/gateway/handoff.py; labelling in
bot/trainer/inbox.py `finish_label`); a refund decision happens in the refund service, so the gateway records it
once the service has answered (bot/gateway/agents.py). Below both the gateway and the trainer, so either may write.
Replies are not logged here: the transcript already keeps each agent message with its author.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, DateTime, Integer, String, select
from sqlalchemy.orm import Session

from bot.db import Base

ACTIONS = ("claim", "release", "assign", "approve", "reject", "label")


def _now() -> datetime:
    return datetime.now(timezone.utc)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint(
            "action IN ('claim', 'release', 'assign', 'approve', 'reject', 'label')", name="ck_audit_log_action"
        ),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(DateTime(timezone=True), nullable=False, default=_now)
    actor_role = Column(String(16), nullable=False)  # agent | supervisor | trainer
    actor = Column(String(64), nullable=False)  # the token's subject
    action = Column(String(16), nullable=False)
    # What it was done to; no foreign keys, so the log outlives what it tells about.
    conversation_id = Column(String(64), nullable=True, index=True)
    refund_id = Column(String(64), nullable=True, index=True)
    item_id = Column(Integer, nullable=True)  # a trainer's NLU inbox item
    state_before = Column(JSON, nullable=True)  # e.g. {"holder": "queue"}, {"state": "needs_review"}
    state_after = Column(JSON, nullable=True)
    detail = Column(JSON, nullable=True)  # e.g. {"reason": ...} of a refund decision


def record(
    session: Session,
    *,
    role: str,
    actor: str,
    action: str,
    conversation_id: str | None = None,
    refund_id: str | None = None,
    item_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry in the caller's transaction (it commits or rolls back with the change it records)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    session.add(
        AuditEntry(
            at=_now(), actor_role=role, actor=actor, action=action, conversation_id=conversation_id,
            refund_id=refund_id, item_id=item_id, state_before=before, state_after=after, detail=detail,
        )
    )
    session.flush()


def audit_entry_dict(e: AuditEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": e.at.isoformat() if e.at else None,
        "actor_role": e.actor_role,
        "actor": e.actor,
        "action": e.action,
        "conversation_id": e.conversation_id,
        "refund_id": e.refund_id,
        "item_id": e.item_id,
        "before": e.state_before,
        "after": e.state_after,
        "detail": e.detail,
    }


def for_conversation(session: Session, conversation_id: str) -> list[dict[str, Any]]:
    """The conversation's entries, oldest first (claims, releases, assignments, its refunds' decisions)."""
    rows = session.execute(
        select(AuditEntry).where(AuditEntry.conversation_id == conversation_id).order_by(AuditEntry.id)
    ).scalars()
    return [audit_entry_dict(e) for e in rows]


def for_item(session: Session, item_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(AuditEntry).where(AuditEntry.item_id == item_id).order_by(AuditEntry.id)).scalars()
    return [audit_entry_dict(e) for e in rows]
