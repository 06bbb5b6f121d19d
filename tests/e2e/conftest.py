"""Helpers for the end-to-end tests; the `stack` fixture itself is in tests/conftest.py (shared with tests/trainer)."""

from __future__ import annotations

import io
import random
import uuid
from typing import Any

import httpx
from PIL import Image

from bot.db import make_engine
from bot.evidence.service import store_photo
from bot.rasa_protocol import SECRET_HEADER, WEBHOOK_PATH
from tests.e2e.stack import Stack


def photo_bytes(seed: int) -> bytes:
    """A real JPEG, different for every seed (so perceptual hashes differ)."""
    rng = random.Random(seed)
    img = Image.new("RGB", (64, 64))
    img.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(64 * 64)])
    img = img.resize((640, 480), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


class Conversation:
    """Talks to Rasa through the trusted channel exactly as the gateway does."""

    def __init__(self, stack: Stack, shopper: str) -> None:
        self.stack, self.shopper = stack, shopper
        self.conversation = f"e2e_{uuid.uuid4().hex[:12]}"
        self.engine = make_engine(stack.database_url)

    def post(self, event: str, **fields: Any) -> httpx.Response:
        body = {"shopper_id": self.shopper, "conversation_id": self.conversation, "event": event, **fields}
        return httpx.post(f"{self.stack.url('rasa')}{WEBHOOK_PATH}", json=body,
                          headers={SECRET_HEADER: self.stack.channel_secret}, timeout=60)

    def send(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        resp = self.post(event, **fields)
        assert resp.status_code == 200, resp.text
        return resp.json()["messages"]

    def say(self, text: str) -> list[dict[str, Any]]:
        return self.send("text", text=text)

    def click(self, payload: str) -> list[dict[str, Any]]:
        return self.send("button", payload=payload)

    def photo(self, kind: str, seed: int) -> list[dict[str, Any]]:
        from sqlalchemy.orm import Session

        with Session(self.engine) as session:
            photo = store_photo(session, data=photo_bytes(seed), kind=kind, shopper_id=self.shopper,
                                conversation_id=self.conversation)
            session.commit()
            photo_id = photo.id
        return self.send("photo", photo_id=photo_id, photo_kind=kind)


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def buttons_of(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [b for m in messages for b in (m.get("buttons") or [])]
