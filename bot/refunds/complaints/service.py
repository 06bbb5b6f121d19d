"""Recording a complaint: categorise by the keyword file, issue a ticket, once per key."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.refunds.complaints.models import Complaint
from bot.refunds.complaints.schemas import MAX_TEXT
from bot.settings import ROOT

CATEGORIES_PATH = ROOT / "data" / "complaints.yml"


@lru_cache(maxsize=1)
def categories() -> dict[str, Any]:
    return yaml.safe_load(CATEGORIES_PATH.read_text(encoding="utf-8"))


def categorise(text: str) -> tuple[str, str]:
    """(code, label) of the first category whose keyword occurs in the text."""
    table = categories()
    for category in table["categories"]:
        if any(keyword in text for keyword in category["keywords"]):
            return category["code"], category["label"]
    return table["default"]["code"], table["default"]["label"]


def label_of(code: str) -> str:
    table = categories()
    labels = {c["code"]: c["label"] for c in table["categories"]}
    return labels.get(code, table["default"]["label"])


def _new_ticket() -> str:
    return f"TS{datetime.now(timezone.utc):%Y%m%d}{secrets.token_hex(3).upper()}"


class KeyReused(Exception):
    """The idempotency key was used before for a different complaint."""


def _replay(existing: Complaint, shopper_id: str, text: str) -> Complaint:
    if existing.shopper_id != shopper_id or existing.text != text[:MAX_TEXT]:
        raise KeyReused(existing.idempotency_key)
    return existing


def create_complaint(
    session: Session, *, shopper_id: str, conversation_id: str, text: str, idempotency_key: str
) -> tuple[Complaint, bool]:
    """Record the complaint, or return the one already recorded under this key; True if new."""
    by_key = select(Complaint).where(Complaint.idempotency_key == idempotency_key)
    existing = session.scalars(by_key).first()
    if existing is not None:
        return _replay(existing, shopper_id, text), False
    code, _ = categorise(text)
    complaint = Complaint(ticket=_new_ticket(), idempotency_key=idempotency_key, shopper_id=shopper_id,
                          conversation_id=conversation_id, category=code, text=text[:MAX_TEXT])
    session.add(complaint)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # a concurrent duplicate won the race: answer with its row
        return _replay(session.scalars(by_key).one(), shopper_id, text), False
    return complaint, True
