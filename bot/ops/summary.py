"""The gateway's figures of a period [since, until), each one aggregated in SQL over an index (migration 0008).

- conversations started in the period; contained = no handoff ever asked in them; handoff rate per reason (a
  conversation handed over twice for one reason counts once for it);
- the model's parses of shopper texts sent in the period and how many fell back (nlu_fallback), read from two
  partial indexes on the parse's intent, so no JSON is decoded;
- the texts of the trainer's inbox most often misunderstood in the period;
- first message to money: the refund service says which conversations got money in the period and when; the
  conversation started with its first message (the chat opens with the greeting, written with the row), so the
  time is the money's moment minus conversations.created_at.

The handoffs table is the gateway's (bot.gateway.models.Handoff); the queries that read it are SQL text, since the
gateway imports this package and not the other way round. Times are compared as the transcript stores them.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from bot.ops import series
from bot.ops.figures import rate, spread
from bot.trainer.inbox_models import InboxHit, InboxItem
from bot.transcript.models import Conversation

FALLBACK = "nlu_fallback"
# The parse's intent as migration 0008's partial indexes spell it (same text, or the planner will not use them).
INTENT = {"sqlite": "json_extract(nlu, '$.intent')", "postgresql": "(nlu ->> 'intent')"}
TOP_TEXTS = 10


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _window(sql: str, since: datetime, until: datetime) -> TextClause:
    """A text query with :since and :until bound as the transcript writes its times."""
    stamp = Conversation.created_at.type
    return text(sql).bindparams(bindparam("since", since, type_=stamp), bindparam("until", until, type_=stamp))


def _hour(session: Session, column: str) -> str:
    """SQL for the UTC hour a stored time falls in (SQLite: its text 'YYYY-MM-DD HH'; no date arithmetic per row)."""
    if _dialect(session) == "sqlite":
        return f"substr({column}, 1, 13)"
    return f"date_trunc('hour', {column} AT TIME ZONE 'UTC')"


def conversations(session: Session, *, since: datetime, until: datetime) -> dict[str, Any]:
    """Started, contained and handed over (by reason), in total and per hour or day of the period."""
    per_hour = {
        hour: int(n)
        for hour, n in session.connection().execute(_window(
            f"SELECT {_hour(session, 'created_at')} AS hour, count(*) FROM conversations"
            " WHERE created_at >= :since AND created_at < :until GROUP BY hour", since, until))
    }
    # From the handoffs to their conversations (CROSS JOIN keeps SQLite to that order): a handoff is never older
    # than its conversation, so only the period's handoffs are read, from their index.
    handed = session.connection().execute(_window(
        f"SELECT h.conversation_id, h.reason, {_hour(session, 'c.created_at')}"
        " FROM handoffs AS h CROSS JOIN conversations AS c"
        " WHERE c.id = h.conversation_id AND h.created_at >= :since AND c.created_at >= :since"
        " AND c.created_at < :until", since, until)).all()
    by_reason: dict[str, set[str]] = {}
    handed_hours: dict[str, Any] = {}
    for cid, reason, hour in handed:
        by_reason.setdefault(reason, set()).add(cid)
        handed_hours[cid] = hour
    total, handed_off = sum(per_hour.values()), len(handed_hours)
    return {
        "started": total,
        "contained": total - handed_off,
        "containment_rate": rate(total - handed_off, total),
        "handed_off": handed_off,
        "handoff_rate": rate(handed_off, total),
        "handoffs_by_reason": {r: {"count": len(c), "rate": rate(len(c), total)} for r, c in sorted(by_reason.items())},
        "series": series.per_bucket(since, until, started=per_hour, handed_off=Counter(handed_hours.values())),
    }


def understanding(session: Session, *, since: datetime, until: datetime, top: int = TOP_TEXTS) -> dict[str, Any]:
    """Shopper texts the model parsed in the period, how many it fell back on, and the inbox's most frequent."""
    intent = INTENT[_dialect(session)]

    def count(condition: str) -> int:
        sql = f"SELECT count(*) FROM messages WHERE {condition} AND created_at >= :since AND created_at < :until"
        return int(session.connection().execute(_window(sql, since, until)).scalar() or 0)

    parsed = count(f"{intent} IS NOT NULL")
    fallbacks = count(f"{intent} = '{FALLBACK}'")
    hits = (
        select(InboxHit.item_id, func.count().label("n"))
        .where(InboxHit.created_at >= since, InboxHit.created_at < until)
        .group_by(InboxHit.item_id)
        .order_by(func.count().desc(), InboxHit.item_id)
        .limit(top)
    ).subquery()
    texts = [
        {"item_id": item_id, "text": body, "status": status, "hits": int(n)}
        for item_id, body, status, n in session.connection().execute(
            select(InboxItem.id, InboxItem.text, InboxItem.status, hits.c.n)
            .join(hits, hits.c.item_id == InboxItem.id)
            .order_by(hits.c.n.desc(), InboxItem.id))
    ]
    return {"parsed": parsed, "fallbacks": fallbacks, "fallback_rate": rate(fallbacks, parsed), "misunderstood": texts}


# Each conversation with money: its start (epoch seconds), whether it started in the period, whether it was ever
# handed over. The ids go in as one text parameter: SQLite reads it as a JSON array; PostgreSQL splits it on commas
# (ids are [A-Za-z0-9_-]), since a driver that writes parameters into the SQL would make a list of tens of
# thousands into as many literals for the server to parse.
_WITH_MONEY = """
SELECT c.id, {start}, CASE WHEN c.created_at >= :since AND c.created_at < :until THEN 1 ELSE 0 END,
       CASE WHEN EXISTS (SELECT 1 FROM handoffs AS h WHERE h.conversation_id = c.id) THEN 1 ELSE 0 END
FROM conversations AS c WHERE c.id IN ({ids})
"""
_START = {"sqlite": "(julianday(c.created_at) - 2440587.5) * 86400.0",
          "postgresql": "CAST(extract(epoch FROM c.created_at) AS double precision)"}
_IDS = {"sqlite": "SELECT value FROM json_each(:ids)", "postgresql": "SELECT unnest(string_to_array(:ids, ','))"}


def time_to_money(
    session: Session, *, conversation_ids: list[str], paid_at: list[float], since: datetime, until: datetime
) -> dict[str, Any]:
    """Seconds from each conversation's first message to its first money in the period (the refund service's
    `first_money`): count, median and p90 (nearest rank) overall and split by whether a person took part;
    `settled_by_bot`: conversations started in the period that got money with no handoff."""
    paid = dict(zip(conversation_ids, paid_at, strict=True))
    bot_only: list[float] = []
    with_agent: list[float] = []
    settled_by_bot = 0
    if paid:
        dialect = _dialect(session)
        ids = json.dumps(conversation_ids) if dialect == "sqlite" else ",".join(conversation_ids)
        sql = _WITH_MONEY.format(start=_START[dialect], ids=_IDS[dialect])
        for cid, opened, fresh, handed in session.connection().execute(_window(sql, since, until), {"ids": ids}).all():
            (with_agent if handed else bot_only).append(max(paid[cid] - float(opened), 0.0))
            settled_by_bot += fresh and not handed
    return {"all": spread(bot_only + with_agent), "bot_only": spread(bot_only), "with_agent": spread(with_agent),
            "settled_by_bot": int(settled_by_bot)}
