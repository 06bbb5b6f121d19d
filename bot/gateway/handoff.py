"""Who holds a conversation (bot, the queue, or an agent): SQL is durable, Redis is live.

Claiming is a compare-and-set in Redis (Lua) and a conditional UPDATE in SQL; both must succeed,
so exactly one agent wins even with several gateway workers.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timezone
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.gateway.context import Gateway
from bot.gateway.models import AGENT_PREFIX, HOLDER_BOT, HOLDER_QUEUE, Conversation, Handoff, now_utc

log = logging.getLogger(__name__)

_CAS = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
"""


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


def sql_claim(session: Session, conversation_id: str, agent_id: str) -> bool:
    won = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.holder == HOLDER_QUEUE)
        .values(holder=agent_holder(agent_id))
    ).rowcount
    if won != 1:
        return False
    session.execute(
        update(Handoff)
        .where(Handoff.conversation_id == conversation_id, Handoff.status == "waiting")
        .values(status="claimed", agent_id=agent_id, claimed_at=now_utc())
    )
    return True


def sql_release(session: Session, conversation_id: str, agent_id: str) -> bool:
    done = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.holder == agent_holder(agent_id))
        .values(holder=HOLDER_BOT)
    ).rowcount
    if done != 1:
        return False
    session.execute(
        update(Handoff)
        .where(Handoff.conversation_id == conversation_id, Handoff.status.in_(("waiting", "claimed")))
        .values(status="released", released_at=now_utc())
    )
    return True


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


# ---- Redis + SQL together (async) -----------------------------------------------------------


async def current_holder(gw: Gateway, conversation_id: str) -> str:
    """The live holder from Redis; rebuilt from SQL when Redis lost it (restart, flush)."""
    key = gw.keys.holder(conversation_id)
    try:
        holder = await gw.redis.get(key)
        if holder is None:
            holder = await gw.db.run(sql_holder, conversation_id)
            await gw.redis.set(key, holder, nx=True)
            holder = await gw.redis.get(key) or holder
    except RedisError:  # Redis down: SQL has the durable answer
        log.warning("redis unavailable; holder of %s read from SQL", conversation_id)
        holder = await gw.db.run(sql_holder, conversation_id)
    return str(holder)


async def set_holder(gw: Gateway, conversation_id: str, holder: str) -> None:
    try:
        await gw.redis.set(gw.keys.holder(conversation_id), holder)
    except RedisError:  # may stay stale until Redis is back; claim and release re-check SQL
        log.warning("redis unavailable; holder of %s not cached", conversation_id)


async def cas_holder(gw: Gateway, conversation_id: str, expected: str, new: str) -> bool:
    result = await gw.redis.eval(_CAS, 1, gw.keys.holder(conversation_id), expected, new)
    return bool(int(result))
