"""The gateway's long-lived clients, built once per app in its lifespan and kept on app.state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from redis.asyncio import Redis

from bot.gateway.config import GatewayConfig
from bot.gateway.keys import Keys
from bot.gateway.store import Database
from bot.rasa_protocol import TrustedChannel
from bot.settings import Settings


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
            redis=Redis.from_url(settings.redis_url, decode_responses=True),
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
