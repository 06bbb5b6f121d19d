"""Container entry point: `python deploy/serve.py NAME PORT` starts process NAME exactly as `python -m bot.launch`
does (same argv, same environment), but listening on BIND_HOST (default 0.0.0.0) instead of 127.0.0.1.

bot.launch binds every process to 127.0.0.1, which is right on one machine and unreachable from another container.
Until it reads a bind address itself, this wrapper swaps the one loopback address in its argv (or SANIC_HOST for the
action server) and refuses to start when it finds none, so a change of bot.launch cannot silently leave a container
listening on loopback. `--dry-run` prints the argv and extra environment as JSON instead of starting it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import launch  # noqa: E402

LOOPBACK = "127.0.0.1"


def container_command(name: str, port: int, host: str) -> tuple[list[str], dict[str, str]]:
    """bot.launch.command(name, port) with its bind address replaced by `host`."""
    argv, env = launch.command(name, port)
    if env.get("SANIC_HOST") == LOOPBACK:
        return argv, {**env, "SANIC_HOST": host}
    at = [i for i, arg in enumerate(argv) if arg == LOOPBACK and i > 0 and argv[i - 1] in ("-i", "--host", "--bind")]
    if len(at) != 1:
        raise SystemExit(f"deploy/serve.py: no single bind address {LOOPBACK} in bot.launch's argv for {name}: {argv}")
    return [host if i == at[0] else arg for i, arg in enumerate(argv)], env


def main() -> None:
    args = sys.argv[1:]
    dry_run = args[:1] == ["--dry-run"]
    args = args[1:] if dry_run else args
    if len(args) != 2 or not args[1].isdigit():
        raise SystemExit(__doc__)
    argv, env = container_command(args[0], int(args[1]), os.environ.get("BIND_HOST", "0.0.0.0"))
    metrics_env = getattr(launch, "metrics_env", None)  # what `python -m bot.launch` adds when it has it
    if metrics_env is not None and not dry_run:
        env |= metrics_env(args[0])
    if dry_run:
        print(json.dumps({"argv": argv, "env": env}))
        return
    os.chdir(ROOT)
    os.execve(argv[0], argv, {**os.environ, **env})


if __name__ == "__main__":
    main()
