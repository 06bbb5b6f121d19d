"""Demo-only token minting for the pages (mounted only when BOT_DEMO=1)."""

from __future__ import annotations

from fastapi import APIRouter

from bot.gateway.schemas import DemoTokenIn
from bot.tokens import STAFF_MAX_TTL, STAFF_ROLES, mint

router = APIRouter(prefix="/api/demo")
DEMO_TTL = 12 * 3600  # a shopper's demo token; staff tokens never outlive STAFF_MAX_TTL


@router.post("/token")
async def demo_token(body: DemoTokenIn) -> dict[str, str]:
    """Sign a token saying `subject` acts as `role` for 12 hours (a staff role: at most bot.tokens.STAFF_MAX_TTL)."""
    ttl = min(DEMO_TTL, STAFF_MAX_TTL) if body.role in STAFF_ROLES else DEMO_TTL
    return {
        "token": mint(body.role, body.subject, ttl_seconds=ttl),
        "role": body.role,
        "subject": body.subject,
    }
