"""Load shedding for the FastAPI apps: a bounded number of requests in flight per process, a bounded wait for a turn.

A burst larger than a process can serve used to be accepted whole: every request waited its share of one SQLite
writer, one Rasa and 40 worker threads, and most ran into a 10 s timeout (503) or a 30 s lock timeout (500). Now at
most BOT_MAX_IN_FLIGHT requests run at once in each gateway or refund service process; up to BOT_MAX_QUEUED more
wait, first come first served, at most BOT_QUEUE_WAIT seconds for a turn; everyone beyond is answered at once, and a
waiter whose time ran out then, with 503 and `Retry-After: BOT_RETRY_AFTER` in the app's own error shape (the
gateway's Chinese one). A request refused here has done nothing, so a client may simply send it again.

Health checks and live streams (SSE, open for minutes) are not counted.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)
EXEMPT_PATHS = frozenset({"/health", "/healthz"})


@dataclass(frozen=True)
class Limits:
    max_in_flight: int = 32  # requests a process works on at once
    max_queued: int = 64  # requests waiting for a turn; more are refused at once
    queue_wait: float = 5.0  # seconds one waits for its turn before it is refused
    retry_after: int = 2  # seconds, told to the refused client

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            max_in_flight=max(1, int(os.environ.get("BOT_MAX_IN_FLIGHT", cls.max_in_flight))),
            max_queued=max(0, int(os.environ.get("BOT_MAX_QUEUED", cls.max_queued))),
            queue_wait=max(0.0, float(os.environ.get("BOT_QUEUE_WAIT", cls.queue_wait))),
            retry_after=max(1, int(os.environ.get("BOT_RETRY_AFTER", cls.retry_after))),
        )


def exempt(scope: Scope) -> bool:
    """Not counted: health checks (the supervisor must see a busy process is alive) and live streams."""
    path: str = scope.get("path", "")
    return path in EXEMPT_PATHS or path.endswith("/stream")


class LoadShedder:
    """Pure ASGI middleware admitting at most `limits.max_in_flight` requests at once (see the module docstring).

    `refusal(retry_after)` builds the app's 503; it should carry the Retry-After header. Add it inside the app's
    other middleware (add it first), so a refusal gets the security headers and is measured like any answer.
    """

    def __init__(self, app: ASGIApp, *, refusal: Callable[[int], Response], limits: Limits | None = None) -> None:
        self.app = app
        self.refusal = refusal
        self.limits = limits or Limits.from_env()
        self.in_flight = 0
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or exempt(scope):
            await self.app(scope, receive, send)
            return
        if not await self._admit():
            self.refused += 1
            if self.refused % 100 == 1:  # a burst is logged, not every one of its refusals
                log.warning("overloaded: %d in flight, %d waiting; refused %s %s (%d refused so far)",
                            self.in_flight, len(self.waiting), scope.get("method"), scope.get("path"), self.refused)
            await self.refusal(self.limits.retry_after)(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._release()

    async def _admit(self) -> bool:
        if self.in_flight < self.limits.max_in_flight and not self.waiting:
            self.in_flight += 1
            return True
        if len(self.waiting) >= self.limits.max_queued:
            return False
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append(turn)
        try:
            await asyncio.wait_for(asyncio.shield(turn), self.limits.queue_wait)
            return True
        except asyncio.TimeoutError:
            if turn.done():  # given the turn in the same instant: take it
                return True
            self._leave(turn)
            return False
        except asyncio.CancelledError:  # the server is stopping, or the client went away, while it waited
            if turn.done():
                self._release()
            else:
                self._leave(turn)
            raise

    def _leave(self, turn: asyncio.Future[None]) -> None:
        turn.cancel()
        self.waiting.remove(turn)

    def _release(self) -> None:
        """Hand this request's place to the longest waiter still waiting, else free it."""
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the place passes on: in_flight stays the same
                return
        self.in_flight -= 1
