"""Run the Alembic migrations programmatically (setup, tests and the services' start-up)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from bot.settings import ROOT, get_settings


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "bot" / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade_to_head(url: str | None = None) -> None:
    command.upgrade(alembic_config(url or get_settings().database_url), "head")


if __name__ == "__main__":
    upgrade_to_head()
