"""Demo-only token minting for the pages (mounted only when BOT_DEMO=1)."""

from __future__ import annotations

from fastapi import APIRouter

from bot.gateway.schemas import DemoTokenIn
from bot.tokens import mint

router = APIRouter(prefix="/api/demo")


@router.post("/token")
async def demo_token(body: DemoTokenIn) -> dict[str, str]:
    return {
        "token": mint(body.role, body.subject, ttl_seconds=12 * 3600),
        "role": body.role,
        "subject": body.subject,
    }
