"""Per-shopper rate limit in Redis: a fixed window counter shared by every gateway worker."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from bot.gateway.errors import GatewayError
from bot.gateway.keys import Keys


async def check_rate(redis: Redis, keys: Keys, shopper_id: str, *, count: int, seconds: int) -> None:
    """Count one request; raise 429 when the shopper went over `count` in this window."""
    window = int(time.time()) // seconds
    key = keys.rate(shopper_id, window)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, seconds + 1)
        used, _ = await pipe.execute()
    if int(used) > count:
        raise GatewayError(429, "rate_limited")
