"""Hot reload through Rasa's own HTTP API (token-protected): which model is live, and load another one.

`PUT /model` builds a new agent with the same endpoints (Redis tracker store) and keeps the lock store, so
conversations continue on the new model where they were. Loading blocks Rasa's event loop for a few seconds;
messages sent meanwhile wait and are answered afterwards.
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
    token: str

    @classmethod
    def from_settings(cls) -> RasaServer:
        settings = get_settings()
        return cls(settings.rasa_url, settings.rasa_api_token)

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
            resp = httpx.put(f"{self.url}/model", params={"token": self.token},
                             json={"model_file": str(model.resolve())}, timeout=LOAD_TIMEOUT)
        except httpx.HTTPError as exc:
            raise ReloadFailed(f"PUT /model failed: {exc!r}") from exc
        if resp.status_code != 204:
            raise ReloadFailed(f"PUT /model answered {resp.status_code}: {resp.text[:300]}")
        live = self.live_model(timeout=30)
        if live != model.name:
            raise ReloadFailed(f"after loading {model.name} Rasa reports {live!r}")
        return time.monotonic() - started
