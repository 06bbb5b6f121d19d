"""The embedded Redis keeps what it holds (Rasa's trackers, the open cases) in var/redis across a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.settings import ROOT
from tests.faults.test_supervisor import free_port


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[tuple[Path, int, list[subprocess.Popen[bytes]]]]:
    """(var dir, port, started processes): the embedded server as bin/up starts it, on a tmp var dir."""
    procs: list[subprocess.Popen[bytes]] = []
    yield tmp_path / "var", free_port(), procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def start(var_dir: Path, port: int, procs: list[subprocess.Popen[bytes]]) -> redis.Redis:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"} | {"BOT_VAR_DIR": str(var_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "bot.launch", "redis", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    procs.append(proc)
    client = redis.Redis(port=port, decode_responses=True)
    deadline = time.monotonic() + 15
    while True:
        try:
            client.ping()
            return client
        except redis.exceptions.BusyLoadingError:
            pass
        except redis.exceptions.ConnectionError:
            assert proc.poll() is None, "redis exited at start-up"
        assert time.monotonic() < deadline, "redis did not start"
        time.sleep(0.05)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_a_key_survives_a_restart(embedded: tuple[Path, int, list[subprocess.Popen[bytes]]], stop: int) -> None:
    var_dir, port, procs = embedded
    client = start(var_dir, port, procs)
    client.set("tracker:s1:c_1", "有一支笔坏了")
    client.close()
    procs[-1].send_signal(stop)
    procs[-1].wait(timeout=10)
    assert (var_dir / "redis" / "appendonly.aof").stat().st_size > 0

    client = start(var_dir, port, procs)
    assert client.get("tracker:s1:c_1") == "有一支笔坏了"
    assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
    client.close()
