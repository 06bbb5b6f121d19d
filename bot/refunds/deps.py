"""FastAPI dependencies: a database session per request, service-token auth, idempotency keys."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy import event
from sqlalchemy.orm import Session

from bot.refunds import service
from bot.refunds.errors import Invalid, Unauthorized
from bot.refunds.models import Refund
from bot.tokens import Principal, TokenError, verify

READS = frozenset({"GET", "HEAD"})


def get_session(request: Request) -> Iterator[Session]:
    """A session for one request, closed as soon as the endpoint returns (scope "function"), before its answer is
    checked and sent: a transaction never waits for a worker thread, which only a finished request frees.

    A GET reads in snapshots (bot.db.reading: on SQLite no write lock). Any other request writes with BEGIN IMMEDIATE
    and commits in the endpoint; what it reads after its commit (the answer) is read in a snapshot too, so the write
    lock is held only from its first statement to its commit."""
    reader = request.app.state.reader
    if request.method in READS:
        session: Session = request.app.state.sessionmaker(bind=reader)
    else:
        session = request.app.state.sessionmaker()
        event.listen(session, "after_commit", lambda s: setattr(s, "bind", reader))
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


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

# Characters no SQL text column takes: NUL (PostgreSQL refuses it: 500) and lone UTF-16 surrogates (not characters:
# neither database can encode them). Nothing the service is sent legitimately holds one; the shoppers' texts are
# cleaned by the gateway first.
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


async def storable_text(request: Request) -> None:
    """Refuse (422) a request with a NUL or a lone surrogate in a path, a query parameter or any JSON string of its
    body, before anything reaches SQL; every route of the service has it, the complaints' too."""
    texts: list[Any] = [*request.path_params.values(), *request.query_params.values()]
    body = await request.body()  # FastAPI has already read (and cached) it
    if body and "json" in request.headers.get("content-type", ""):
        with contextlib.suppress(ValueError):  # not JSON: FastAPI has refused it already
            texts.append(json.loads(body))
    if any(_UNSTORABLE.search(text) for text in _strings(texts)):
        raise Invalid("unstorable_text", "text must not contain NUL characters or lone surrogates")


def valid_refund(refund_id: str, session: SessionDep) -> Refund:
    return service.get_refund(session, refund_id=refund_id)


RefundDep = Annotated[Refund, Depends(valid_refund)]
