"""Gateway knobs read from the environment (limits, demo mode); one small frozen dataclass."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bot.rasa_protocol import MAX_TEXT_CHARS
from bot.settings import ROOT


def _rate(value: str) -> tuple[int, int]:
    count, _, seconds = value.partition("/")
    return int(count), int(seconds or 60)


@dataclass(frozen=True)
class GatewayConfig:
    max_text_chars: int = MAX_TEXT_CHARS  # the channel refuses longer texts
    rate_count: int = 30  # messages and uploads per shopper ...
    rate_seconds: int = 60  # ... per this many seconds
    demo: bool = False
    rasa_timeout: float = 60.0
    stream_ping_seconds: float = 15.0
    key_prefix: str = "gw:"
    # A shopper text whose top intent scores below this goes to the trainers' NLU inbox (the
    # FallbackClassifier's own threshold, 0.45 in config.yml, already files everything below it).
    inbox_below: float = 0.70
    project_root: Path = ROOT  # where data/nlu and domain.yml live (labelling writes there)
    # The refund service's money notices not told by a request are swept into the chats this often
    # (0: never, in this process) once they are this old (bot/gateway/notices.py).
    notice_sweep_seconds: float = 3.0
    notice_grace_seconds: float = 2.0

    @classmethod
    def from_env(cls) -> GatewayConfig:
        count, seconds = _rate(os.environ.get("BOT_RATE_LIMIT", "30/60"))
        return cls(
            rate_count=count,
            rate_seconds=seconds,
            demo=os.environ.get("BOT_DEMO") == "1",
            rasa_timeout=float(os.environ.get("BOT_RASA_TIMEOUT", "60")),
            stream_ping_seconds=float(os.environ.get("BOT_STREAM_PING", "15")),
            key_prefix=os.environ.get("BOT_GATEWAY_KEY_PREFIX", "gw:"),
            inbox_below=float(os.environ.get("BOT_INBOX_BELOW", "0.70")),
            project_root=Path(os.environ.get("BOT_PROJECT_ROOT", str(ROOT))),
            notice_sweep_seconds=float(os.environ.get("BOT_NOTICE_SWEEP", "3")),
            notice_grace_seconds=float(os.environ.get("BOT_NOTICE_GRACE", "2")),
        )
