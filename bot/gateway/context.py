"""The gateway's long-lived clients, built once per app in its lifespan and kept on app.state."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx
from redis.asyncio import Redis

from bot.gateway.config import GatewayConfig
from bot.gateway.keys import Keys
from bot.gateway.store import Database
from bot.rasa_protocol import TrustedChannel
from bot.settings import Settings


def redis_client(url: str) -> Redis:
    """The gateway's Redis client, which never waits on Redis for long.

    A Redis that accepts connections and never answers (wedged, stopped, a dead host behind a proxy) would otherwise
    hold every request: BOT_REDIS_CONNECT_TIMEOUT (2 s) to connect and BOT_REDIS_TIMEOUT (2 s) for each answer. Then
    a staff request is refused (503 `auth_unavailable`, bot/gateway/revocation.py) and a shopper's goes on without
    the rate limit and the live publish (both fail open). A live stream's wait for the next message is given its own
    timeout (pub/sub `get_message`), so a quiet stream is not cut by these."""
    return Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=float(os.environ.get("BOT_REDIS_CONNECT_TIMEOUT", "2")),
        socket_timeout=float(os.environ.get("BOT_REDIS_TIMEOUT", "2")),
    )


@dataclass
class Gateway:
    """Everything a request handler needs; nothing in it is per-process state that matters."""

    settings: Settings
    config: GatewayConfig
    keys: Keys
    db: Database
    redis: Redis
    http: httpx.AsyncClient
    bot: TrustedChannel
    refunds: Any  # bot.refunds.client.RefundsClient

    @classmethod
    def build(cls, settings: Settings, config: GatewayConfig) -> Gateway:
        from bot.refunds.client import RefundsClient, ServiceToken  # the refund service's typed client

        http = httpx.AsyncClient(timeout=httpx.Timeout(config.rasa_timeout, connect=5.0))
        return cls(
            settings=settings,
            config=config,
            keys=Keys(config.key_prefix),
            db=Database(settings.database_url),
            redis=redis_client(settings.redis_url),
            http=http,
            bot=TrustedChannel(http, settings.rasa_url, settings.channel_secret),
            # a token that renews itself: one minted at start would run out while the gateway keeps running
            refunds=RefundsClient(settings.refunds_url, ServiceToken("gateway", settings=settings)),
        )

    async def close(self) -> None:
        await self.http.aclose()
        closer = getattr(self.refunds, "aclose", None) or getattr(self.refunds, "close", None)
        if closer is not None:
            result = closer()
            if hasattr(result, "__await__"):
                await result
        await self.redis.close()
        self.db.dispose()
