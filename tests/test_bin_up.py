"""bin/up itself, run in a copy of the repository's layout whose bin/setup and .venv/bin/python only record what they
were asked: demo tokens are off unless asked for, and every process it starts gets its health check."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import ROOT

RECORDING_PYTHON = """#!/bin/sh
echo "BOT_DEMO=${BOT_DEMO-unset} $*" >> "$UP_LOG"
case "$*" in
  "-m bot.launch --health"*) exec "$REAL_PYTHON" "$@" ;;
esac
"""


@pytest.fixture
def up(tmp_path: Path) -> Path:
    (tmp_path / "bin").mkdir()
    shutil.copy(ROOT / "bin" / "up", tmp_path / "bin" / "up")
    (tmp_path / "bin" / "setup").write_text("#!/bin/sh\nexit 0\n")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").write_text(RECORDING_PYTHON)
    for path in (tmp_path / "bin" / "setup", tmp_path / ".venv" / "bin" / "python"):
        path.chmod(0o755)
    return tmp_path


def run_up(root: Path, *args: str, **env: str) -> str:
    """What bin/up handed to bot.supervise, with the BOT_DEMO it ran under."""
    base = {k: v for k, v in os.environ.items() if k not in ("BOT_DEMO", "REDIS_URL")}
    log = root / "up.log"
    log.unlink(missing_ok=True)
    env = base | env | {"UP_LOG": str(log), "REAL_PYTHON": sys.executable, "PYTHONPATH": str(ROOT)}
    subprocess.run([str(root / "bin" / "up"), *args], env=env, check=True, timeout=60, capture_output=True)
    supervise = [line for line in log.read_text().splitlines() if "-m bot.supervise" in line]
    assert len(supervise) == 1, log.read_text()
    return supervise[0]


def test_demo_tokens_are_off_unless_asked_for(up: Path) -> None:
    assert run_up(up).startswith("BOT_DEMO=0 ")
    assert run_up(up, "--demo").startswith("BOT_DEMO=1 ")
    assert run_up(up, BOT_DEMO="1").startswith("BOT_DEMO=1 ")


def test_every_process_gets_its_health_check(up: Path) -> None:
    line = run_up(up, BOT_RASA_WORKERS="1")
    assert line.endswith(
        "-m bot.supervise -f Procfile --health redis=redis://127.0.0.1:6390 "
        "--health refunds=http://127.0.0.1:8001/health --health actions=http://127.0.0.1:5055/health "
        "--health rasa=http://127.0.0.1:5005/ --health gateway=http://127.0.0.1:8000/healthz "
        "redis refunds actions rasa gateway"
    ), line
    two = run_up(up, BOT_RASA_WORKERS="2")  # a second Rasa worker on the next port, watched like the first
    assert "--health rasa=http://127.0.0.1:5005/ --health rasa2=http://127.0.0.1:5006/ " in two, two
    assert two.endswith("redis refunds actions rasa rasa2 gateway"), two
    external = run_up(up, REDIS_URL="redis://127.0.0.1:6379/0", BOT_RASA_WORKERS="1")  # no embedded Redis
    assert external.endswith("-m bot.supervise -f Procfile --health refunds=http://127.0.0.1:8001/health "
                             "--health actions=http://127.0.0.1:5055/health --health rasa=http://127.0.0.1:5005/ "
                             "--health gateway=http://127.0.0.1:8000/healthz refunds actions rasa gateway"), external
