"""Request and response bodies of POST /complaints (shared by the route and the client)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

MAX_TEXT = 2000


class ComplaintIn(BaseModel):
    shopper_id: str = Field(..., min_length=1, max_length=64)
    conversation_id: str = Field(..., min_length=1, max_length=64)
    text: str = Field(..., min_length=1, max_length=MAX_TEXT)


class ComplaintOut(BaseModel):
    ticket: str
    category: str
    category_label: str
    shopper_id: str
    conversation_id: str
    status: str
    created_at: datetime
