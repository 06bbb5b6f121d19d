"""Hot reload: which model Rasa serves (its token-protected /status), and load another one.

Loading goes through the trusted channel's `/webhooks/trusted/model` (channel secret), which builds the new
agent in a worker thread beside the old one and swaps it in, sharing the Redis tracker store and the lock
store: conversations carry on where they were and keep being answered during the load. (Rasa's own
`PUT /model` loads on its event loop and holds every answer for the 30-40 s a load takes.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.settings import get_settings

LOAD_TIMEOUT = 300.0  # loading TensorFlow graphs on two busy cores can take a minute or more


class ReloadFailed(RuntimeError):
    """Rasa refused or failed to load the model, or reports another model afterwards."""


@dataclass(frozen=True)
class RasaServer:
    url: str
    token: str  # Rasa's API token (/status)
    secret: str  # the trusted channel's secret (loading)

    @classmethod
    def from_settings(cls) -> RasaServer:
        settings = get_settings()
        return cls(settings.rasa_url, settings.rasa_api_token, settings.channel_secret)

    def live_model(self, timeout: float = 5.0) -> str | None:
        """The file name of the loaded model, or None when Rasa does not answer or has no model."""
        try:
            resp = httpx.get(f"{self.url}/status", params={"token": self.token}, timeout=timeout)
        except httpx.HTTPError:
            return None
        if resp.status_code != 200:
            return None
        return resp.json().get("model_file") or None

    def load(self, model: Path) -> float:
        """Load `model` (a path local to the Rasa server), confirm with /status; return the seconds it took."""
        started = time.monotonic()
        try:
            resp = httpx.post(f"{self.url}/webhooks/trusted/model", headers={"X-Channel-Secret": self.secret},
                              json={"model_file": str(model.resolve())}, timeout=LOAD_TIMEOUT)
        except httpx.HTTPError as exc:
            raise ReloadFailed(f"loading {model.name} failed: {exc!r}") from exc
        if resp.status_code != 200:
            raise ReloadFailed(f"loading {model.name} answered {resp.status_code}: {resp.text[:300]}")
        live = self.live_model(timeout=30)
        if live != model.name:
            raise ReloadFailed(f"after loading {model.name} Rasa reports {live!r}")
        return time.monotonic() - started
