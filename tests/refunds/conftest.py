"""Fixtures for the refund service: a seeded database, photo rows, and a real uvicorn server."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.evidence.models import Photo
from bot.launch import command
from bot.rasa_protocol import PHOTO_KINDS
from bot.refunds.seed import seed
from bot.settings import ROOT, get_settings
from bot.tokens import mint


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


@pytest.fixture
def seeded(sessions: sessionmaker) -> None:
    """The database holds the demo shoppers, orders and s3's refund history."""
    with sessions() as s:
        seed(s)


@pytest.fixture
def session(sessions: sessionmaker, seeded: None) -> Iterator[Session]:
    with sessions() as s:
        yield s


AddPhoto = Callable[..., str]


@pytest.fixture
def add_photo(sessions: sessionmaker) -> AddPhoto:
    """Insert a photo row as the evidence store would; returns its id."""

    def _add(
        shopper_id: str, *, kind: str = "items", phash: str | None = None, conversation_id: str = "c1"
    ) -> str:
        photo_id = uuid.uuid4().hex
        with sessions() as s:
            s.add(
                Photo(
                    id=photo_id,
                    shopper_id=shopper_id,
                    conversation_id=conversation_id,
                    kind=kind,
                    filename=f"{photo_id}.jpg",
                    content_type="image/jpeg",
                    phash=phash or secrets.token_hex(8),
                    width=640,
                    height=480,
                    original_format="JPEG",
                    original_bytes=12345,
                )
            )
            s.commit()
        return photo_id

    return _add


@pytest.fixture
def evidence(add_photo: AddPhoto) -> Callable[[str], list[str]]:
    """A full damaged-goods evidence set (package, label, items) of fresh, unrelated photos."""
    return lambda shopper_id: [add_photo(shopper_id, kind=k) for k in PHOTO_KINDS]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def server(db_url: str, seeded: None) -> Iterator[Server]:
    """`uvicorn --factory bot.refunds.app:create_app` on a free port, on the fixture's seeded database."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "BOT_SECRET": get_settings().secret}
    cmd = [*command("refunds", port=port)[0], "--log-level", "warning"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"refund service exited with {proc.returncode}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("refund service did not start in 30 s")
            time.sleep(0.1)
        yield Server(url=url, token=mint("service", "tests"))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
