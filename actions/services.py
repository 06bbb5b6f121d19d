"""The client the actions use: the refund service (typed client). Handoffs go back in the bot's answer."""

from __future__ import annotations

from functools import lru_cache

from bot.refunds.client import RefundsClient


@lru_cache(maxsize=1)
def refunds() -> RefundsClient:
    """One client for the action server's lifetime; its service token renews itself (ServiceToken)."""
    return RefundsClient.from_settings("actions")
