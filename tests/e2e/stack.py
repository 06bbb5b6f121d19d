"""Start the real processes (Redis, refund service, action server, Rasa) on free ports for a test run."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from bot import tokens
from bot.launch import health_url
from bot.settings import ROOT, get_settings

STARTUP_TIMEOUT = 240  # Rasa loads TensorFlow and the model: about a minute on two cores


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(role: str, port: int, rasa_token: str) -> bool:
    """Whether the process of `role` on `port` is ready: Redis answers PING, Rasa reports a loaded model, the
    others answer their health URL (bot.launch)."""
    try:
        if role == "redis":
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        if role == "rasa":
            resp = httpx.get(f"http://127.0.0.1:{port}/status", params={"token": rasa_token}, timeout=2)
            return resp.status_code == 200 and bool(resp.json().get("model_file"))
        return httpx.get(health_url(role, port), timeout=2).status_code == 200
    except (OSError, httpx.HTTPError):
        return False


@dataclass
class Stack:
    workdir: Path
    database_url: str
    secret: str = field(default_factory=lambda: secrets.token_hex(16))
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    rasa_workers: int = 1  # Rasa processes: rasa, rasa2, ...; the gateway gets all of their URLs

    @property
    def rasa_names(self) -> tuple[str, ...]:
        return ("rasa", *(f"rasa{i}" for i in range(2, self.rasa_workers + 1)))

    @property
    def env(self) -> dict[str, str]:
        p = self.ports
        return {
            **os.environ,
            "BOT_SECRET": self.secret,
            "BOT_VAR_DIR": str(self.workdir / "var"),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": f"redis://127.0.0.1:{p['redis']}/0",
            "REFUNDS_URL": f"http://127.0.0.1:{p['refunds']}",
            "ACTION_URL": f"http://127.0.0.1:{p['actions']}/webhook",
            "RASA_URL": ",".join(f"http://127.0.0.1:{p[name]}" for name in self.rasa_names),
            "GATEWAY_URL": f"http://127.0.0.1:{p['gateway']}",
            "BOT_DEMO": "1",
            # scripted shoppers hold dozens of conversations a minute as one demo shopper; the limit itself
            # is tested in tests/gateway
            "BOT_RATE_LIMIT": "1000/60",
        }

    @property
    def channel_secret(self) -> str:
        return replace(get_settings(), secret=self.secret).channel_secret

    def token(self, role: str, subject: str) -> str:
        """A one-hour token of `role` for `subject` from bot.tokens.mint, signed with this stack's secret."""
        return tokens.mint(role, subject, ttl_seconds=3600, settings=replace(get_settings(), secret=self.secret))

    def service_token(self) -> str:
        return self.token("service", "tests")

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self, names: tuple[str, ...] | None = None) -> None:
        everything = ("redis", "refunds", "actions", *self.rasa_names, "gateway")
        names = everything if names is None else names
        for name in everything:
            self.ports.setdefault(name, free_port())
        env = self.env
        for step in (["-m", "bot.migrate"], ["-m", "bot.refunds.seed"]):
            subprocess.run([sys.executable, *step], env=env, cwd=ROOT, check=True, capture_output=True)
        logs = self.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for name in names:
            # launched as the Procfile does, so each process derives its secrets from its own env
            argv = [sys.executable, "-m", "bot.launch", name, str(self.ports[name])]
            out = open(logs / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
            self.procs[name] = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        self._wait_until_ready(names)

    def _ready(self, name: str) -> bool:
        role = "rasa" if name.startswith("rasa") else name
        return answers(role, self.ports[name], replace(get_settings(), secret=self.secret).rasa_api_token)

    def _wait_until_ready(self, names: tuple[str, ...]) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        pending = list(names)
        while pending:
            for name in list(pending):
                if self.procs[name].poll() is not None:
                    log = (self.workdir / "logs" / f"{name}.log").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"{name} exited during start-up:\n{log}")
                if self._ready(name):
                    pending.remove(name)
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {STARTUP_TIMEOUT}s: {pending}; logs in {self.workdir}/logs")
            time.sleep(0.5)

    def restart(self, name: str, extra_env: dict[str, str] | None = None, *, wait: bool = True) -> None:
        """Start one process again on its port (stopping it first if it still runs), with extra environment
        (tests/faults arm bot/faults.py with BOT_FAULTS), and wait until it answers unless `wait` is false."""
        old = self.procs.get(name)
        if old is not None and old.poll() is None:
            old.terminate()
            try:
                old.wait(timeout=20)
            except subprocess.TimeoutExpired:
                old.kill()
                old.wait()
        argv = [sys.executable, "-m", "bot.launch", name, str(self.ports[name])]
        out = open(self.workdir / "logs" / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        self.procs[name] = subprocess.Popen(argv, env={**self.env, **(extra_env or {})}, cwd=ROOT, stdout=out,
                                            stderr=subprocess.STDOUT)
        if wait:
            self._wait_until_ready((name,))

    def kill(self, name: str) -> None:
        """SIGKILL one process (no clean-up runs in it) and reap it."""
        self.procs[name].kill()
        self.procs[name].wait(timeout=20)

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


