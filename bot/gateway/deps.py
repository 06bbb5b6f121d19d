"""Request dependencies: the gateway context and who is calling (shopper, agent, supervisor, trainer)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from bot.gateway import chat, revocation
from bot.gateway.context import Gateway
from bot.gateway.errors import GatewayError
from bot.gateway.ratelimit import check_rate
from bot.tokens import Principal, TokenError, verify


def get_gateway(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


def _principal(request: Request, *roles: str) -> Principal:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise GatewayError(401, "unauthorized")
    try:
        return verify(token.strip(), *roles)
    except TokenError as exc:
        raise GatewayError(401, "unauthorized") from exc


async def _staff(request: Request, *roles: str) -> Principal:
    """The caller of one of `roles`; a staff token must also not be revoked.

    The Redis deny-list is asked on every staff request; when Redis cannot answer the request is refused with
    503 `auth_unavailable` (fail-closed, see bot/gateway/revocation.py). Shopper tokens are not looked up.
    """
    who = _principal(request, *roles)
    if who.staff:
        gw = get_gateway(request)
        try:
            await revocation.check(gw.redis, gw.keys, who)
        except revocation.Revoked as exc:
            raise GatewayError(401, "unauthorized") from exc
        except revocation.DenyListUnavailable as exc:
            raise GatewayError(503, "auth_unavailable") from exc
    return who


def shopper(request: Request) -> Principal:
    return _principal(request, "shopper")


async def agent(request: Request) -> Principal:
    """An agent or a supervisor (who may do everything an agent may)."""
    return await _staff(request, "agent", "supervisor")


async def supervisor(request: Request) -> Principal:
    return await _staff(request, "supervisor")


async def shopper_or_agent(request: Request) -> Principal:
    return await _staff(request, "shopper", "agent", "supervisor")


ShopperDep = Annotated[Principal, Depends(shopper)]
AgentDep = Annotated[Principal, Depends(agent)]
SupervisorDep = Annotated[Principal, Depends(supervisor)]
ViewerDep = Annotated[Principal, Depends(shopper_or_agent)]


async def owned_conversation(cid: str, gw: GatewayDep, who: ShopperDep) -> dict[str, Any]:
    """The path's conversation, checked to belong to the calling shopper (403 otherwise)."""
    return await chat.owned_conversation(gw, cid, who.subject)


OwnedConversation = Annotated[dict, Depends(owned_conversation)]


async def rate_limited(gw: GatewayDep, who: ShopperDep) -> Principal:
    await check_rate(gw.redis, gw.keys, who.subject, count=gw.config.rate_count, seconds=gw.config.rate_seconds)
    return who


RateLimited = Annotated[Principal, Depends(rate_limited)]


def resume_point(request: Request, after: int | None = None) -> int:
    """Where a stream resumes: ?after=SEQ, else the Last-Event-ID header, else the start."""
    if after is not None:
        return max(after, 0)
    last = request.headers.get("last-event-id", "")
    return int(last) if last.isdigit() else 0


ResumeDep = Annotated[int, Depends(resume_point)]
