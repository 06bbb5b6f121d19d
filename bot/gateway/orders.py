"""Orders and refunds, always re-read from the refund service (never trusted from the client)."""

from __future__ import annotations

import logging
from typing import Any

import httpx
from fastapi.encoders import jsonable_encoder

from bot.gateway.context import Gateway
from bot.gateway.errors import GatewayError

log = logging.getLogger(__name__)


def _translate(exc: Exception, not_found: str) -> GatewayError:
    status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    if status == 404:
        return GatewayError(404, not_found)
    if status == 403:
        return GatewayError(403, "forbidden")
    if status == 409:
        return GatewayError(409, "refund_conflict")
    log.warning("refund service call failed: %r", exc)
    return GatewayError(503, "refunds_unavailable")


def _is_refunds_error(exc: Exception) -> bool:
    return isinstance(exc, httpx.HTTPError) or type(exc).__name__ == "RefundsError"


async def _call(coro: Any, not_found: str) -> Any:
    try:
        return jsonable_encoder(await coro)
    except Exception as exc:
        if _is_refunds_error(exc):
            raise _translate(exc, not_found) from exc
        raise


async def owned_order(gw: Gateway, order_id: str, shopper_id: str) -> dict[str, Any]:
    """The order if it belongs to this shopper: 404 unknown, 403 someone else's."""
    order = await _call(gw.refunds.get_order(order_id, shopper_id=shopper_id), "order_not_found")
    if order.get("shopper_id") != shopper_id:
        raise GatewayError(403, "forbidden")
    return dict(order)


async def get_order(gw: Gateway, order_id: str) -> dict[str, Any] | None:
    try:
        return dict(await _call(gw.refunds.get_order(order_id), "order_not_found"))
    except GatewayError:
        return None


async def shopper_orders(gw: Gateway, shopper_id: str) -> list[dict[str, Any]]:
    return list(await _call(gw.refunds.list_orders(shopper_id), "order_not_found"))


async def shopper_refunds(gw: Gateway, shopper_id: str) -> list[dict[str, Any]]:
    try:
        return list(await _call(gw.refunds.list_refunds(shopper_id), "refund_not_found"))
    except GatewayError:
        return []


async def get_refund(gw: Gateway, refund_id: str) -> dict[str, Any]:
    return dict(await _call(gw.refunds.get_refund(refund_id), "refund_not_found"))


async def decide_refund(gw: Gateway, refund_id: str, *, approve: bool, agent_id: str, reason: str) -> dict[str, Any]:
    """Approve (the service then settles) or reject a refund in the agent's name."""
    method = gw.refunds.approve if approve else gw.refunds.reject
    return dict(await _call(method(refund_id, decided_by=agent_id, reason=reason or None), "refund_not_found"))
