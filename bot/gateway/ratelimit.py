"""Per-shopper rate limit in Redis: a fixed window counter shared by every gateway worker."""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.gateway.errors import GatewayError
from bot.gateway.keys import Keys

log = logging.getLogger(__name__)


async def check_rate(redis: Redis, keys: Keys, shopper_id: str, *, count: int, seconds: int) -> None:
    """Count one request; raise 429 when the shopper went over `count` in this window."""
    window = int(time.time()) // seconds
    key = keys.rate(shopper_id, window)
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, seconds + 1)
            used, _ = await pipe.execute()
    except RedisError:  # fail open: a Redis outage must not silence every shopper
        log.warning("redis unavailable; rate limit for %s not counted", shopper_id)
        return
    if int(used) > count:
        raise GatewayError(429, "rate_limited")
