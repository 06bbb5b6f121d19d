"""Gateway test rig: real uvicorn gateway, real Redis (db 11, flushed), real SQL (db_url), the real
refund service in its own process on the same database, and RasaDouble for Rasa."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from bot.gateway.app import create_app
from bot.gateway.config import GatewayConfig
from bot.gateway.store import Database
from bot.launch import command
from bot.settings import ROOT, Settings, get_settings
from bot.tokens import mint
from tests.gateway.rasa_double import RasaDouble
from tests.gateway.servers import ThreadedServer, free_port

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
SECRET = "gateway-test-secret"

# Demo data from bot.refunds.seed: s1 owns O1001-O1003, s2 owns O2001-O2002, s3 O3001-O3003.


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Rig:
    url: str
    settings: Settings
    rasa: RasaDouble
    redis: redis.Redis
    var_dir: Path
    db_url: str
    refunds_url: str
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def shopper(self, sid: str) -> dict[str, str]:
        return auth(mint("shopper", sid))

    def agent(self, aid: str) -> dict[str, str]:
        return auth(mint("agent", aid))

    def post(self, path: str, headers: dict[str, str], **kw: Any) -> httpx.Response:
        return self.client.post(self.url + path, headers=headers, **kw)

    def get(self, path: str, headers: dict[str, str], **kw: Any) -> httpx.Response:
        return self.client.get(self.url + path, headers=headers, **kw)

    def open(self, sid: str = "s1", order_id: str | None = None) -> str:
        resp = self.post("/api/conversations", self.shopper(sid), json={"order_id": order_id})
        assert resp.status_code == 201, resp.text
        return str(resp.json()["conversation_id"])


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("refund service exited at start-up")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("refund service did not start")


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    values = {
        "BOT_SECRET": SECRET,
        "BOT_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": db_url,
        "REDIS_URL": TEST_REDIS_URL,
        "REFUNDS_URL": f"http://127.0.0.1:{free_port()}",
        "RASA_URL": f"http://127.0.0.1:{free_port()}",
        "GATEWAY_URL": f"http://127.0.0.1:{free_port()}",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield values
    get_settings.cache_clear()


@pytest.fixture
def redis_client(env: dict[str, str]) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(env["REDIS_URL"], decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def refunds_url(env: dict[str, str]) -> Iterator[str]:
    """The real refund service (bot.refunds.app) in its own process, on the demo seed data."""
    pytest.importorskip("bot.refunds.app")
    from bot.refunds.seed import seed

    db = Database(env["DATABASE_URL"])
    db.run_sync(seed)
    db.dispose()
    port = int(env["REFUNDS_URL"].rsplit(":", 1)[1])
    proc = subprocess.Popen(
        [*command("refunds", port=port)[0], "--log-level", "warning"],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    try:
        _wait_port(port, proc)
        yield env["REFUNDS_URL"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def start_rig(
    env: dict[str, str], redis_client: redis.Redis, refunds: str, db_url: str, config: GatewayConfig
) -> Iterator[Rig]:
    settings = Settings.from_env()
    rasa = RasaDouble(settings.channel_secret)
    gateway_port = int(env["GATEWAY_URL"].rsplit(":", 1)[1])
    rasa_port = int(env["RASA_URL"].rsplit(":", 1)[1])
    with (
        ThreadedServer(rasa.app, rasa_port),
        ThreadedServer(create_app(settings, config), gateway_port) as gw,
    ):
        rig = Rig(gw.url, settings, rasa, redis_client, Path(env["BOT_VAR_DIR"]), db_url, refunds)
        try:
            yield rig
        finally:
            rig.client.close()


@pytest.fixture
def rig(env: dict[str, str], redis_client: redis.Redis, refunds_url: str, db_url: str) -> Iterator[Rig]:
    yield from start_rig(
        env,
        redis_client,
        refunds_url,
        db_url,
        GatewayConfig(rate_count=1000, stream_ping_seconds=1.0, demo=True),
    )


@pytest.fixture
def strict_rig(env: dict[str, str], redis_client: redis.Redis, refunds_url: str, db_url: str) -> Iterator[Rig]:
    """A gateway with a low rate limit (5 per minute)."""
    yield from start_rig(
        env,
        redis_client,
        refunds_url,
        db_url,
        GatewayConfig(rate_count=5, rate_seconds=60, stream_ping_seconds=1.0),
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the files a trainer's labelling may touch (data/, domain.yml, config.yml)."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "data", root / "data")
    for name in ("domain.yml", "config.yml"):
        shutil.copy(ROOT / name, root / name)
    return root


@pytest.fixture
def trainer_rig(
    env: dict[str, str], redis_client: redis.Redis, refunds_url: str, db_url: str, project: Path
) -> Iterator[Rig]:
    """A gateway whose trainer API labels into `project`, not into the repository."""
    config = GatewayConfig(rate_count=1000, stream_ping_seconds=1.0, demo=True, project_root=project)
    yield from start_rig(env, redis_client, refunds_url, db_url, config)
