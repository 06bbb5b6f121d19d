"""`GET /metrics` of the gateway (Prometheus text): for ops, supervisors and our services' tokens only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from bot import metrics
from bot.gateway.deps import _staff
from bot.tokens import Principal

router = APIRouter()


async def metrics_reader(request: Request) -> Principal:
    """The gateway is public: an ops or supervisor token (checked against the deny-list) or a service token."""
    return await _staff(request, *metrics.GATEWAY_READERS)


@router.get("/metrics", include_in_schema=False)
async def read_metrics(_who: Annotated[Principal, Depends(metrics_reader)]) -> Response:
    body, content_type = metrics.exposition(metrics.GATEWAY)
    return Response(body, media_type=content_type)
