"""The client the actions use: the refund service (typed client). Handoffs go back in the bot's answer."""

from __future__ import annotations

from functools import lru_cache

from bot.refunds.client import RefundsClient


@lru_cache(maxsize=1)
def refunds() -> RefundsClient:
    return RefundsClient.from_settings()
