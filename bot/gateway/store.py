"""The gateway's SQL access: one engine per app, blocking work run in worker threads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.db import make_engine

T = TypeVar("T")


class Database:
    """Runs a function in its own transaction off the event loop (commit on success)."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = make_engine(url)
        self._sessions = sessionmaker(bind=self.engine, future=True, expire_on_commit=False)

    def run_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        session: Session = self._sessions()
        try:
            result = fn(session, *args, **kwargs)
            session.commit()
            return result
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await anyio.to_thread.run_sync(lambda: self.run_sync(fn, *args, **kwargs))

    def dispose(self) -> None:
        self.engine.dispose()
