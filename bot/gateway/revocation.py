"""Revoked staff tokens: a Redis deny-list the gateway checks on every staff request.

Two kinds of entry, both under the gateway's key prefix (bot/gateway/keys.py):
- `revoked:jti:<jti>`: that one token, kept until the token would have expired anyway;
- `revoked:sub:<subject>`: a cutoff second; every staff token of that subject (any staff role) issued at or
  before it is refused, kept STAFF_MAX_TTL (by then every such token has expired). A token minted in the very
  second of the cutoff is refused too: mint again a second later.

Fail-closed: when Redis cannot answer, a staff request is refused with 503 `auth_unavailable` rather than let a
revoked token through. Staff tokens move money and read shoppers' chats, and the staff pages need Redis for their
live streams anyway, so a Redis outage already stops that work; shoppers' tokens are not checked here and keep
working. The writers are `python -m bot.cli revoke` (sync client) and tests.
"""

from __future__ import annotations

import logging

import redis
from redis.asyncio import Redis

from bot import tokens
from bot.gateway.keys import Keys
from bot.tokens import STAFF_MAX_TTL, Principal

log = logging.getLogger(__name__)


class Revoked(Exception):
    """The token was revoked, alone or with all of its subject's older tokens."""


class DenyListUnavailable(Exception):
    """Redis did not answer: the caller refuses the request (fail-closed)."""


async def check(client: Redis, keys: Keys, who: Principal) -> None:
    """Raise Revoked if `who`'s token is on the deny-list, DenyListUnavailable if Redis cannot tell."""
    try:
        by_token, cutoff = await client.mget(keys.revoked_token(who.jti), keys.revoked_before(who.subject))
    except (redis.RedisError, OSError) as exc:
        log.warning("token deny-list unreachable, refusing %s %s: %r", who.role, who.subject, exc)
        raise DenyListUnavailable(str(exc)) from exc
    if by_token is not None:
        raise Revoked(f"token {who.jti} revoked")
    if cutoff is not None and who.issued_at <= int(float(cutoff)):
        raise Revoked(f"tokens of {who.subject} issued up to {cutoff} revoked")


def revoke_token(client: redis.Redis, keys: Keys, jti: str, expires_at: int | None = None) -> int:
    """Deny one token until it expires (`expires_at`, or the longest a staff token lives when unknown).
    Returns the seconds the entry is kept (0: the token has expired already, nothing written)."""
    ttl = STAFF_MAX_TTL if expires_at is None else int(expires_at - tokens.clock()) + 1
    if ttl <= 0:
        return 0
    client.set(keys.revoked_token(jti), "1", ex=min(ttl, STAFF_MAX_TTL + 1))
    return min(ttl, STAFF_MAX_TTL + 1)


def revoke_subject(client: redis.Redis, keys: Keys, subject: str) -> int:
    """Refuse every staff token of `subject` issued up to now; returns the cutoff second."""
    cutoff = int(tokens.clock())  # tests move bot.tokens.clock
    client.set(keys.revoked_before(subject), str(cutoff), ex=STAFF_MAX_TTL + 1)
    return cutoff
