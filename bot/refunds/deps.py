"""FastAPI dependencies: a database session per request, service-token auth, idempotency keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from bot.refunds import service
from bot.refunds.errors import Invalid, Unauthorized
from bot.refunds.models import Refund
from bot.tokens import Principal, TokenError, verify


def get_session(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def require_service(authorization: Annotated[str | None, Header()] = None) -> Principal:
    """Only our own services (actions, gateway) may call the refund service."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing_token", "Authorization: Bearer <service token> is required")
    try:
        return verify(token.strip(), "service")
    except TokenError as exc:
        raise Unauthorized("invalid_token", str(exc)) from exc


ServiceDep = Annotated[Principal, Depends(require_service)]


def idempotency_key(key: Annotated[str | None, Header(alias="Idempotency-Key")] = None) -> str:
    key = (key or "").strip()
    if not key or len(key) > 128 or not key.isprintable() or not key.isascii():
        raise Invalid(
            "idempotency_key_required",
            "an Idempotency-Key header of 1-128 printable ASCII characters is required",
        )
    return key


IdempotencyKeyDep = Annotated[str, Depends(idempotency_key)]


def valid_refund(refund_id: str, session: SessionDep) -> Refund:
    return service.get_refund(session, refund_id=refund_id)


RefundDep = Annotated[Refund, Depends(valid_refund)]
