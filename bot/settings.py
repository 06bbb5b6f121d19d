"""One settings object read from the environment, with embedded defaults under var/."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EMBEDDED_REDIS_PORT = 6390


def _var_dir() -> Path:
    path = Path(os.environ.get("BOT_VAR_DIR", ROOT / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _load_or_create_secret(var_dir: Path) -> str:
    """Use BOT_SECRET, else a random secret kept in var/secret (created once, mode 600)."""
    from_env = os.environ.get("BOT_SECRET")
    if from_env:
        return from_env
    path = var_dir / "secret"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


@dataclass(frozen=True)
class Settings:
    """Where things are and how the processes find each other."""

    root: Path
    var_dir: Path
    database_url: str
    redis_url: str
    redis_embedded: bool
    secret: str
    refunds_url: str
    rasa_url: str
    gateway_url: str
    action_url: str

    @classmethod
    def from_env(cls) -> Settings:
        var_dir = _var_dir()
        redis_url = os.environ.get("REDIS_URL", "")
        return cls(
            root=ROOT,
            var_dir=var_dir,
            database_url=os.environ.get("DATABASE_URL") or f"sqlite:///{var_dir / 'bot.sqlite3'}",
            redis_url=redis_url or f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0",
            redis_embedded=not redis_url,
            secret=_load_or_create_secret(var_dir),
            refunds_url=os.environ.get("REFUNDS_URL", "http://127.0.0.1:8001"),
            rasa_url=os.environ.get("RASA_URL", "http://127.0.0.1:5005"),
            gateway_url=os.environ.get("GATEWAY_URL", "http://127.0.0.1:8000"),
            action_url=os.environ.get("ACTION_URL", "http://127.0.0.1:5055/webhook"),
        )

    def derived_secret(self, purpose: str) -> str:
        """A separate secret per purpose (channel, rasa api, tokens), all from the one root secret."""
        return hmac.new(self.secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()

    @property
    def channel_secret(self) -> str:
        return self.derived_secret("trusted-channel")

    @property
    def rasa_api_token(self) -> str:
        return self.derived_secret("rasa-http-api")

    @property
    def photo_dir(self) -> Path:
        path = self.var_dir / "photos"
        path.mkdir(parents=True, exist_ok=True)
        return path


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
