"""Live delivery: publish new messages on Redis pub/sub; stream them as SSE, backfilled from SQL.

A stream subscribes first, then reads SQL after the client's last seq, then follows pub/sub. A
notification that does not continue the sequence (or a quiet ping interval) triggers another SQL
read, so a message is never skipped (pub/sub is lossy) nor sent twice (seq only goes up).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

log = logging.getLogger(__name__)

BACKFILL_PAGE = 500  # transcript.messages_after returns at most this many
Backfill = Callable[[int], Awaitable[list[dict[str, Any]]]]


async def publish_messages(redis: Redis, channel: str, messages: list[dict[str, Any]]) -> None:
    """Tell live streams about committed messages; failure only delays them until the next backfill."""
    for msg in messages:
        try:
            await redis.publish(channel, json.dumps(msg, ensure_ascii=False))
        except Exception:  # Redis down: SQL still has the message
            log.warning("publish to %s failed", channel, exc_info=True)
            return


async def publish_event(redis: Redis, channel: str, event: dict[str, Any]) -> None:
    try:
        await redis.publish(channel, json.dumps(event, ensure_ascii=False))
    except Exception:
        log.warning("publish to %s failed", channel, exc_info=True)


def sse(data: dict[str, Any], *, event: str = "message", event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def message_stream(
    redis: Redis, channel: str, after: int, backfill: Backfill, ping_seconds: float
) -> AsyncIterator[str]:
    """SSE frames for every message with seq > after, in order, each exactly once."""
    last = after
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel)
    try:
        yield "retry: 1000\n\n"

        async def catch_up() -> AsyncIterator[str]:
            nonlocal last
            while True:  # in pages, until SQL has nothing newer
                batch = await backfill(last)
                for msg in batch:
                    if msg["seq"] > last:
                        last = msg["seq"]
                        yield sse(msg, event_id=last)
                if len(batch) < BACKFILL_PAGE:
                    return

        async for frame in catch_up():
            yield frame
        while True:
            note = await pubsub.get_message(ignore_subscribe_messages=True, timeout=ping_seconds)
            if note is None:
                yield ": ping\n\n"
                async for frame in catch_up():
                    yield frame
                continue
            try:
                msg = json.loads(note["data"])
                seq = int(msg["seq"])
            except (ValueError, KeyError, TypeError):
                continue
            if seq <= last:
                continue
            if seq == last + 1:
                last = seq
                yield sse(msg, event_id=seq)
            else:
                async for frame in catch_up():
                    yield frame
    finally:
        await _close(pubsub, channel)


async def event_stream(redis: Redis, channel: str, ping_seconds: float) -> AsyncIterator[str]:
    """SSE frames for lightweight notifications (the agents' queue changed); clients re-fetch."""
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel)
    try:
        yield "retry: 1000\n\n"
        yield sse({"type": "hello"}, event="queue")
        while True:
            note = await pubsub.get_message(ignore_subscribe_messages=True, timeout=ping_seconds)
            if note is None:
                yield ": ping\n\n"
                continue
            try:
                data = json.loads(note["data"])
            except ValueError:
                continue
            yield sse(data, event="queue")
    finally:
        await _close(pubsub, channel)


async def _close(pubsub: Any, channel: str) -> None:
    """Leave the channel when a stream ends; a Redis that has gone away must not raise into the response."""
    try:
        await pubsub.unsubscribe(channel)
        await pubsub.close()
    except Exception:
        log.debug("pubsub close failed", exc_info=True)
