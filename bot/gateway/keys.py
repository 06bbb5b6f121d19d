"""Every Redis key and pub/sub channel the gateway uses, in one place."""

from __future__ import annotations


class Keys:
    """Key names under one prefix so tests (and several deployments) can share a Redis."""

    def __init__(self, prefix: str = "gw:") -> None:
        self.prefix = prefix

    def conversation_channel(self, conversation_id: str) -> str:
        return f"{self.prefix}conv:{conversation_id}"

    def queue_channel(self) -> str:
        return f"{self.prefix}queue"

    def rate(self, shopper_id: str, window: int) -> str:
        return f"{self.prefix}rate:{shopper_id}:{window}"

    def revoked_token(self, jti: str) -> str:
        """Present while the staff token with this jti is revoked (TTL: the token's remaining life)."""
        return f"{self.prefix}revoked:jti:{jti}"

    def revoked_before(self, subject: str) -> str:
        """A staff member's cutoff: their tokens issued at or before this second are refused."""
        return f"{self.prefix}revoked:sub:{subject}"
