"""Init container of the gateway and refund service pods: wait until DATABASE_URL's schema is at the Alembic head
the image carries (the migration Job, `python -m bot.migrate`, got there), so no replica serves on an old schema.

    python deploy/wait_migrated.py [--timeout SECONDS]    # exit 0 once at head, 1 when the timeout passed first
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alembic.runtime.migration import MigrationContext  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402

from bot.migrate import alembic_config  # noqa: E402
from bot.settings import get_settings  # noqa: E402


def at_head(url: str) -> bool:
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads()) == heads
    except Exception as exc:  # the database not up yet counts as not migrated
        print(f"wait_migrated: {type(exc).__name__}: {exc}", file=sys.stderr)
        return False
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    url = get_settings().database_url
    deadline = time.monotonic() + args.timeout
    while not at_head(url):
        if time.monotonic() > deadline:
            print(f"wait_migrated: the database is not at the migrations' head after {args.timeout:g}s",
                  file=sys.stderr)
            raise SystemExit(1)
        time.sleep(2)
    print("wait_migrated: the database is at the migrations' head")


if __name__ == "__main__":
    main()
