"""Request bodies of the gateway API (pydantic v1)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, constr

Ident = constr(regex=r"^[A-Za-z0-9_-]{1,64}$")


class ConversationIn(BaseModel):
    order_id: Ident | None = None  # type: ignore[valid-type]


class MessageIn(BaseModel):
    text: str | None = None
    button: constr(max_length=1000) | None = None  # type: ignore[valid-type]


class AgentMessageIn(BaseModel):
    text: str


class AssignIn(BaseModel):
    agent_id: Ident  # type: ignore[valid-type]


class DecisionIn(BaseModel):
    reason: constr(max_length=500) = ""  # type: ignore[valid-type]


class EntityIn(BaseModel):
    start: int
    end: int
    entity: constr(regex=r"^[a-z][a-z0-9_]{0,40}$")  # type: ignore[valid-type]
    value: constr(max_length=200) | None = None  # type: ignore[valid-type]


class LabelIn(BaseModel):
    intent: constr(min_length=1, max_length=80)  # type: ignore[valid-type]
    entities: list[EntityIn] = []


class RetrainIn(BaseModel):
    tolerance: float | None = None


class DemoTokenIn(BaseModel):
    role: Literal["shopper", "agent", "trainer"] = "shopper"
    subject: Ident  # type: ignore[valid-type]
