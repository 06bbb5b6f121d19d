"""Import every SQLAlchemy model module so Base.metadata knows all tables (Alembic, tests)."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "bot.evidence.models",
    "bot.refunds.models",
    "bot.transcript.models",
    "bot.gateway.models",
    "bot.refunds.complaints.models",
    "bot.trainer.inbox_models",
    "bot.audit",
)


def import_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
