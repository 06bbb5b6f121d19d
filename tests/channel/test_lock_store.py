"""Several Rasa processes share one conversation's lock: turns never overlap and tickets are served in order."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
import uuid
from urllib.parse import urlparse

import redis
from rasa.utils.endpoints import EndpointConfig

from bot.channel.lock_store import AtomicRedisLockStore

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


def _store() -> AtomicRedisLockStore:
    url = urlparse(TEST_REDIS_URL)
    config = EndpointConfig(url=url.hostname, port=url.port or 6379, db=int(url.path.lstrip("/") or 0),
                            key_prefix="locktest", type="bot.channel.lock_store.AtomicRedisLockStore")
    return AtomicRedisLockStore(endpoint_config=config)


def _turns(conversation_id: str, turns: int, start_at: float) -> None:
    """One 'Rasa process': handle `turns` messages of the conversation, each a read-modify-write of its state."""

    async def run() -> None:
        store = _store()
        state = redis.Redis.from_url(TEST_REDIS_URL)
        while time.time() < start_at:
            await asyncio.sleep(0.001)

        async def turn() -> None:
            async with store.lock(conversation_id):
                if state.incr(f"{conversation_id}:inside") != 1:
                    state.incr(f"{conversation_id}:overlaps")
                count = int(state.get(f"{conversation_id}:events") or 0)  # like a tracker: read, change, write
                await asyncio.sleep(0.005)
                state.set(f"{conversation_id}:events", count + 1)
                state.decr(f"{conversation_id}:inside")

        await asyncio.gather(*(turn() for _ in range(turns)))

    asyncio.run(run())


def test_turns_of_one_conversation_never_overlap_across_processes() -> None:
    conversation_id = f"s1:c_{uuid.uuid4().hex[:8]}"
    processes, turns = 4, 10
    start_at = time.time() + 1.5  # everyone asks for a ticket at the same moment
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_turns, args=(conversation_id, turns, start_at)) for _ in range(processes)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    state = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        overlaps = int(state.get(f"{conversation_id}:overlaps") or 0)
        events = int(state.get(f"{conversation_id}:events") or 0)
        assert (overlaps, events) == (0, processes * turns)  # no two turns at once, no turn's write lost
        assert state.get(_store().key_prefix + conversation_id) is None  # the lock is gone when nobody waits
    finally:
        state.delete(*(f"{conversation_id}:{k}" for k in ("inside", "overlaps", "events")))


def test_a_ticket_left_by_a_killed_process_holds_the_conversation_only_for_its_lifetime() -> None:
    store = _store()
    conversation_id = f"s1:c_{uuid.uuid4().hex[:8]}"
    store.issue_ticket(conversation_id, lock_lifetime=1)  # the process holding this ticket dies here
    assert 0 < store.red.pttl(store.key_prefix + conversation_id) <= 2500  # nor does the key outlive it

    async def next_turn() -> float:
        started = time.monotonic()
        async with store.lock(conversation_id, lock_lifetime=5):
            return time.monotonic() - started

    waited = asyncio.run(next_turn())
    assert 0.8 < waited < 3  # served once the dead ticket expired, not before
    assert store.red.get(store.key_prefix + conversation_id) is None
