"""Request bodies and bounded parameters of the gateway API (pydantic v1)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import Depends, Header, Path, Query, Request
from pydantic import BaseModel, conint, constr, validator

from bot.gateway.errors import GatewayError

IDENT = r"^[A-Za-z0-9_-]{1,64}$"
Ident = constr(regex=IDENT)
# Numbers the gateway passes to SQL stay within an SQL INTEGER (sequence numbers, inbox item ids, offsets):
# a bigger one names nothing and is refused with 422 rather than overflowing the database driver (500).
MAX_SQL_INT = 2**31 - 1
Seq = Annotated[int, Path(ge=0, le=MAX_SQL_INT)]
ItemId = Annotated[int, Path(ge=0, le=MAX_SQL_INT)]
After = Annotated[int, Query(ge=0, le=MAX_SQL_INT, description="the last seq the client has")]
# The live streams take `after` (and Last-Event-ID) through bot.gateway.deps.ResumeDep; these bound them.
StreamAfter = Annotated[int | None, Query(alias="after", ge=0, le=MAX_SQL_INT)]
LastEventId = Annotated[str | None, Header(alias="last-event-id", max_length=18, include_in_schema=False)]

# Characters no SQL text column takes: NUL (PostgreSQL refuses it) and lone UTF-16 surrogates (not characters at
# all: they cannot be encoded to UTF-8 for either database).
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
_WELL_FORMED_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def storable(text: str) -> str:
    """A person's text without what they cannot see and SQL cannot store. A shopper or an agent who pasted or
    typed an invisible NUL expects the words they see to be sent, so it is removed, not refused."""
    return _UNSTORABLE.sub("", text)


def _refuse_unstorable(value: str | None) -> str | None:
    """For text written into training data: a trainer should see and fix it, so it is refused (422)."""
    if value is not None and _UNSTORABLE.search(value):
        raise ValueError("must not contain NUL characters or lone surrogates")
    return value


def _well_formed(request: Request, name: str) -> bool:
    return _WELL_FORMED_ID.fullmatch(str(request.path_params.get(name, ""))) is not None


# A conversation, order, refund or photo id of another shape names nothing: 404 before any lookup (an id with a
# NUL in it would otherwise reach SQL, or the refund service, and fail there). One per id, so each route's
# documented refusals stay exact (bot/apidocs reads them from the code).
def conversation_path_id(request: Request) -> None:
    if not _well_formed(request, "cid"):
        raise GatewayError(404, "not_found")


def order_path_id(request: Request) -> None:
    if not _well_formed(request, "order_id"):
        raise GatewayError(404, "order_not_found")


def refund_path_id(request: Request) -> None:
    if not _well_formed(request, "rid"):
        raise GatewayError(404, "refund_not_found")


def photo_path_id(request: Request) -> None:
    if not _well_formed(request, "photo_id"):
        raise GatewayError(404, "photo_not_found")


CID = [Depends(conversation_path_id)]
ORDER_ID = [Depends(order_path_id)]
RID = [Depends(refund_path_id)]
PHOTO_ID = [Depends(photo_path_id)]


class ConversationIn(BaseModel):
    order_id: Ident | None = None  # type: ignore[valid-type]


class MessageIn(BaseModel):
    text: str | None = None
    button: constr(max_length=1000) | None = None  # type: ignore[valid-type]

    _storable = validator("text", "button", allow_reuse=True)(lambda v: None if v is None else storable(v))


class AgentMessageIn(BaseModel):
    text: str

    _storable = validator("text", allow_reuse=True)(storable)


class AssignIn(BaseModel):
    agent_id: Ident  # type: ignore[valid-type]


class DecisionIn(BaseModel):
    reason: constr(max_length=500) = ""  # type: ignore[valid-type]

    _storable = validator("reason", allow_reuse=True)(storable)  # the shopper is told it


class EntityIn(BaseModel):
    start: conint(ge=0, le=MAX_SQL_INT)  # type: ignore[valid-type]
    end: conint(ge=0, le=MAX_SQL_INT)  # type: ignore[valid-type]
    entity: constr(regex=r"^[a-z][a-z0-9_]{0,40}$")  # type: ignore[valid-type]
    value: constr(max_length=200) | None = None  # type: ignore[valid-type]

    _storable = validator("value", allow_reuse=True)(_refuse_unstorable)


class LabelIn(BaseModel):
    intent: constr(min_length=1, max_length=80)  # type: ignore[valid-type]
    entities: list[EntityIn] = []

    _storable = validator("intent", allow_reuse=True)(_refuse_unstorable)


class RetrainIn(BaseModel):
    tolerance: float | None = None


class DemoTokenIn(BaseModel):
    role: Literal["shopper", "agent", "trainer", "ops"] = "shopper"
    subject: Ident  # type: ignore[valid-type]
