"""AtomicRedisLockStore: Rasa's ticket lock, safe when several Rasa processes serve the same conversations.

Rasa Open Source's `RedisLockStore` reads a conversation's lock, changes it in Python and writes it back. Two
processes issuing a ticket for the same conversation at the same moment can both read "no ticket", both issue
ticket 0 and both handle their message at once: two turns interleaved on one tracker (the concurrency-safe
variant is Rasa Pro only). Here every read-modify-write of a lock is a Redis optimistic transaction (WATCH the key,
change the lock with Rasa's own `TicketLock`, MULTI/SET/EXEC, retry when another process changed it in between), so
tickets are issued, served and removed in one order across all processes. The key carries a time to live past its
last ticket, so a lock left by a killed process disappears by itself.

endpoints.yml:  lock_store: {type: bot.channel.lock_store.AtomicRedisLockStore, url: <host>, port: ..., db: ...}
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from typing import Any

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

log = logging.getLogger(__name__)

# Rasa polls a held lock once a second: three photos sent at once waited up to 1 s and 2 s behind the first.
# Checking a Redis key 20 times a second per waiting message costs next to nothing.
WAIT_BETWEEN_CHECKS = 0.05
# A conflict means another process changed this conversation's lock between our read and our write; a turn
# takes milliseconds of lock work, so a handful of retries is plenty even for ten clicks at once.
MAX_ATTEMPTS = 50


class AtomicRedisLockStore(RedisLockStore):
    """A `RedisLockStore` whose ticket issue, serving and cleanup are atomic across processes."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    # -- the one way a lock changes -----------------------------------------------------------------

    def _mutate(self, conversation_id: str, change: Callable[[TicketLock], Any]) -> Any:
        """Apply `change` to the conversation's lock atomically; returns what `change` returned.

        The lock is deleted when no ticket is left, else saved with a time to live past its last ticket.
        """
        key = self.key_prefix + conversation_id
        for _ in range(MAX_ATTEMPTS):
            with self.red.pipeline() as pipe:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(raw)) if raw else TicketLock(conversation_id)
                    result = change(lock)
                    lock.remove_expired_tickets()
                    pipe.multi()
                    if lock.tickets:
                        ttl_ms = math.ceil((max(t.expires for t in lock.tickets) - time.time()) * 1000) + 1000
                        pipe.set(key, lock.dumps(), px=max(ttl_ms, 1000))
                    else:
                        pipe.delete(key)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue
        raise LockError(f"Could not change the lock of conversation '{conversation_id}': too much contention.")

    # -- Rasa's LockStore interface ------------------------------------------------------------------

    @asynccontextmanager
    async def lock(
        self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = WAIT_BETWEEN_CHECKS,
    ) -> AsyncGenerator[TicketLock, None]:
        async with super().lock(conversation_id, lock_lifetime, wait_time_in_seconds) as lock:
            yield lock

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            number: int = self._mutate(conversation_id, lambda lock: lock.issue_ticket(lock_lifetime))
        except LockError:
            raise
        except Exception as exc:  # Rasa's contract: any failure to issue is a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc
        return number

    def update_lock(self, conversation_id: str) -> None:
        self._mutate(conversation_id, lambda lock: None)  # drops expired tickets

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self._mutate(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number))

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # finish_serving already deletes the lock when nobody else holds a ticket; deleting it here without
        # that check (as the base class does between two separate calls) could drop a ticket just issued.
        self.finish_serving(conversation_id, ticket_number)
