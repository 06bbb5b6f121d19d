"""Who holds a conversation (bot, the queue, or an agent): `conversations.holder` in SQL, the only owner.

Every change is a conditional UPDATE (enqueue: bot → queue, claim: queue → agent:<id>, release:
agent:<id> → bot, a supervisor's assign: queue or agent:<x> → agent:<y>), so exactly one of several concurrent
callers wins, across gateway workers. A staff change is written to the audit log (bot/audit.py) in the same
transaction. The gateway asks the bot only while the holder is the bot; Rasa's tracker is never paused.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import audit
from bot.gateway.context import Gateway
from bot.gateway.models import Handoff
from bot.transcript.models import AGENT_PREFIX, HOLDER_BOT, HOLDER_QUEUE, Conversation, now_utc


def agent_holder(agent_id: str) -> str:
    return f"{AGENT_PREFIX}{agent_id}"


# ---- SQL (sync, called through Database.run) ------------------------------------------------


def sql_holder(session: Session, conversation_id: str) -> str:
    holder = session.execute(select(Conversation.holder).where(Conversation.id == conversation_id)).scalar()
    return holder or HOLDER_BOT


def sql_enqueue(
    session: Session, conversation_id: str, *, reason: str, refund_id: str | None
) -> tuple[dict[str, Any], bool]:
    """Open a waiting handoff unless one is already open; returns (handoff, created)."""
    open_one = (
        session.execute(
            select(Handoff)
            .where(Handoff.conversation_id == conversation_id, Handoff.status.in_(("waiting", "claimed")))
            .order_by(Handoff.created_at.desc())
        )
        .scalars()
        .first()
    )
    if open_one is not None:
        if refund_id and not open_one.refund_id:
            open_one.refund_id = refund_id
        return handoff_dict(open_one), False
    handoff = Handoff(
        id=secrets.token_hex(16),
        conversation_id=conversation_id,
        reason=reason,
        refund_id=refund_id,
        status="waiting",
        created_at=now_utc(),
    )
    session.add(handoff)
    session.execute(update(Conversation).where(Conversation.id == conversation_id).values(holder=HOLDER_QUEUE))
    session.flush()
    return handoff_dict(handoff), True


def _move_holder(session: Session, conversation_id: str, expected: str, new: str) -> bool:
    """Compare-and-set of the holder: True when this call moved it from `expected` to `new`.

    One conditional UPDATE, so of several concurrent callers exactly one wins (SQLite and PostgreSQL alike).
    """
    moved = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.holder == expected)
        .values(holder=new)
    ).rowcount
    return bool(moved == 1)


def sql_claim(session: Session, conversation_id: str, agent_id: str, *, role: str = "agent") -> bool:
    if not _move_holder(session, conversation_id, HOLDER_QUEUE, agent_holder(agent_id)):
        return False
    session.execute(
        update(Handoff)
        .where(Handoff.conversation_id == conversation_id, Handoff.status == "waiting")
        .values(status="claimed", agent_id=agent_id, claimed_at=now_utc())
    )
    audit.record(session, role=role, actor=agent_id, action="claim", conversation_id=conversation_id,
                 before={"holder": HOLDER_QUEUE}, after={"holder": agent_holder(agent_id)})
    return True


def sql_release(session: Session, conversation_id: str, agent_id: str, *, role: str = "agent") -> bool:
    if not _move_holder(session, conversation_id, agent_holder(agent_id), HOLDER_BOT):
        return False
    session.execute(
        update(Handoff)
        .where(Handoff.conversation_id == conversation_id, Handoff.status.in_(("waiting", "claimed")))
        .values(status="released", released_at=now_utc())
    )
    audit.record(session, role=role, actor=agent_id, action="release", conversation_id=conversation_id,
                 before={"holder": agent_holder(agent_id)}, after={"holder": HOLDER_BOT})
    return True


def sql_assign(session: Session, conversation_id: str, agent_id: str, *, by: str, role: str) -> str | None:
    """A supervisor hands a waiting or held conversation to `agent_id`; returns the holder before (the new
    holder's already: no change, no entry), or None when the conversation is neither waiting nor held.

    Compare-and-set on the holder just read, so a claim, release or other assignment in between makes it fail
    rather than be overwritten."""
    before = session.execute(select(Conversation.holder).where(Conversation.id == conversation_id)).scalar()
    target = agent_holder(agent_id)
    if before == target:
        return before
    if before != HOLDER_QUEUE and not (before or "").startswith(AGENT_PREFIX):
        return None
    if not _move_holder(session, conversation_id, before, target):
        return None
    session.execute(
        update(Handoff)
        .where(Handoff.conversation_id == conversation_id, Handoff.status.in_(("waiting", "claimed")))
        .values(status="claimed", agent_id=agent_id, claimed_at=now_utc())
    )
    audit.record(session, role=role, actor=by, action="assign", conversation_id=conversation_id,
                 before={"holder": before}, after={"holder": target})
    return str(before)


def sql_queue(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Handoff, Conversation)
        .join(Conversation, Conversation.id == Handoff.conversation_id)
        .where(Handoff.status == "waiting")
        .order_by(Handoff.created_at)
    ).all()
    return [queue_item(h, c) for h, c in rows]


def sql_mine(session: Session, agent_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Handoff, Conversation)
        .join(Conversation, Conversation.id == Handoff.conversation_id)
        .where(Handoff.status == "claimed", Handoff.agent_id == agent_id)
        .order_by(Handoff.claimed_at)
    ).all()
    return [queue_item(h, c) for h, c in rows]


def sql_handoffs(session: Session, conversation_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Handoff).where(Handoff.conversation_id == conversation_id).order_by(Handoff.created_at)
    ).scalars()
    return [handoff_dict(h) for h in rows]


def sql_conversation_of_refund(session: Session, refund_id: str) -> str | None:
    return (
        session.execute(
            select(Handoff.conversation_id).where(Handoff.refund_id == refund_id).order_by(Handoff.created_at.desc())
        )
        .scalars()
        .first()
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def handoff_dict(h: Handoff) -> dict[str, Any]:
    return {
        "handoff_id": h.id,
        "conversation_id": h.conversation_id,
        "reason": h.reason,
        "refund_id": h.refund_id,
        "status": h.status,
        "agent_id": h.agent_id,
        "created_at": _iso(h.created_at),
        "claimed_at": _iso(h.claimed_at),
        "released_at": _iso(h.released_at),
    }


def queue_item(h: Handoff, c: Conversation) -> dict[str, Any]:
    item = handoff_dict(h)
    item.update(
        shopper_id=c.shopper_id,
        order_id=c.order_id,
        waiting_seconds=int((now_utc() - _aware(h.created_at)).total_seconds()),
    )
    return item


async def current_holder(gw: Gateway, conversation_id: str) -> str:
    return str(await gw.db.run(sql_holder, conversation_id))
