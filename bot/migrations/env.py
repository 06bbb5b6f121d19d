"""Alembic environment: migrates the database named by the config (or bot.settings)."""

from __future__ import annotations

from alembic import context

from bot.db import Base, make_engine
from bot.models_registry import import_all_models
from bot.settings import get_settings

import_all_models()
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=url.startswith("sqlite"),
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
