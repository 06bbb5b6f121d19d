"""deploy/'s topology as local processes: two replicas of each role on their own ports, one nginx running
deploy/nginx.conf as the stand-in for each role's Kubernetes Service, PostgreSQL (a fresh database), one Redis.

Every process is started as its container is (`python deploy/serve.py ROLE PORT`), with its own var directory and
only the environment `ROLE_ENV` lists for its role; the URLs it gets are the other roles' fronts, never a replica.
The two gateways share one photos directory, as their pods share the `bot-photos` volume.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import create_engine, text

from bot.launch import PORTS
from bot.settings import ROOT, get_settings
from tests.e2e.stack import Stack, answers

DEPLOY = ROOT / "deploy"
NGINX_CONF = DEPLOY / "nginx.conf"
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PORT_RANGE = range(9000, 9100)  # this topology's ports (the one range given to it on the shared machine)
ROLES = ("refunds", "actions", "rasa", "gateway")
REPLICAS = 2

# What each role's process reads from the environment (bot/settings.py), and so what deploy/docker-compose.yml and
# deploy/k8s must give its containers (tests/deploy/test_manifests.py). Here each process gets exactly these, so a
# variable missing from the table shows up as a failing topology test (a silent SQLite or embedded-Redis fallback).
ROLE_ENV: dict[str, tuple[str, ...]] = {
    "gateway": ("BOT_SECRET", "DATABASE_URL", "REDIS_URL", "RASA_URL", "REFUNDS_URL"),
    "rasa": ("BOT_SECRET", "REDIS_URL", "ACTION_URL"),
    "actions": ("BOT_SECRET", "REFUNDS_URL"),
    "refunds": ("BOT_SECRET", "DATABASE_URL"),
    "migrate": ("DATABASE_URL",),
}
# bot/settings.py's variables: removed from the inherited environment so only ROLE_ENV's reach a process
SETTINGS_ENV = ("BOT_SECRET", "BOT_VAR_DIR", "DATABASE_URL", "REDIS_URL", "REFUNDS_URL", "RASA_URL", "GATEWAY_URL",
                "ACTION_URL")


def free_ports(count: int, taken: set[int]) -> list[int]:
    """`count` ports of PORT_RANGE nobody listens on."""
    found = []
    for port in PORT_RANGE:
        if port in taken:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise RuntimeError(f"fewer than {count} free ports in {PORT_RANGE}")


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


def render_nginx_conf(ports: dict[str, int], replicas: dict[str, list[int]], workdir: Path) -> str:
    """deploy/nginx.conf with 127.0.0.1 addresses: each front on `ports[role]`, each `role-N` replica on its port."""
    conf = NGINX_CONF.read_text()

    def replica(match: re.Match[str]) -> str:
        return f"server 127.0.0.1:{replicas[match.group(1)][int(match.group(2)) - 1]}"

    conf, count = re.subn(r"server (\w+)-(\d+):\d+", replica, conf)
    assert count == REPLICAS * len(ROLES), f"deploy/nginx.conf names {count} replicas"
    for role in ROLES:
        conf, count = re.subn(rf"listen {PORTS[role]};", f"listen 127.0.0.1:{ports[role]};", conf)
        assert count == 1, f"deploy/nginx.conf: no front listening on {role}'s port {PORTS[role]}"
    logs = workdir / "logs"
    conf = conf.replace("/dev/stdout", str(logs / "nginx-access.log")).replace("/dev/stderr",
                                                                                str(logs / "nginx-error.log"))
    temp = workdir / "nginx"
    paths = "".join(f"    {kind}_temp_path {temp / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                          "scgi"))
    conf = conf.replace("http {\n", "http {\n" + paths, 1)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers write the upload buffers in the test's own dirs
    return f"{user}pid {temp / 'nginx.pid'};\n{conf}"


@dataclass
class Topology(Stack):
    """`ports[role]` is the role's front (so Stack.url and the e2e helpers talk to the fronts); `replicas[role]`
    the ports of its processes, named `role-1`, `role-2` in `procs`."""

    replicas: dict[str, list[int]] = field(default_factory=dict)
    admin_url: str = POSTGRES_ADMIN_URL

    def base_env(self, var_dir: Path) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV}
        return {**inherited, "BOT_VAR_DIR": str(var_dir), "BIND_HOST": "127.0.0.1"}

    def role_env(self, role: str) -> dict[str, str]:
        """The settings variables ROLE_ENV gives `role`, pointing at the other roles' fronts."""
        values = {
            "BOT_SECRET": self.secret,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.ports['redis']}/0",
            "REFUNDS_URL": self.url("refunds"),
            "RASA_URL": self.url("rasa"),
            "ACTION_URL": f"{self.url('actions')}/webhook",
        }
        extra = {"BOT_RATE_LIMIT": "1000/60"} if role == "gateway" else {}  # one demo shopper, many conversations
        return {name: values[name] for name in ROLE_ENV[role]} | extra

    def create_database(self) -> None:
        name = f"bot_topology_{uuid.uuid4().hex[:12]}"
        admin = create_engine(self.admin_url, future=True, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.database_url = self.admin_url.rsplit("/", 1)[0] + f"/{name}"

    def drop_database(self) -> None:
        admin = create_engine(self.admin_url, future=True, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.database_url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()

    def _spawn(self, name: str, role: str, port: int, env: dict[str, str]) -> None:
        out = open(self.workdir / "logs" / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        self.procs[name] = subprocess.Popen([sys.executable, str(DEPLOY / "serve.py"), role, str(port)], env=env,
                                            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)

    def start(self, names: tuple[str, ...] = ROLES) -> None:
        nginx = nginx_binary()
        if nginx is None:
            raise RuntimeError("nginx is not installed (Debian: apt-get install nginx)")
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        (self.workdir / "photos").mkdir(exist_ok=True)
        ports = free_ports(1 + len(ROLES) * (1 + REPLICAS), set())
        self.ports["redis"] = ports.pop()
        for role in ROLES:
            self.ports[role] = ports.pop()
            self.replicas[role] = [ports.pop() for _ in range(REPLICAS)]
        self.create_database()
        self._spawn("redis", "redis", self.ports["redis"], self.base_env(self.var_dir("redis")))
        # the migration Job of deploy/k8s, then the demo orders the tests refund
        job_env = self.base_env(self.var_dir("migrate")) | self.role_env("migrate")
        for step in (["-m", "bot.migrate"], ["-m", "bot.refunds.seed"]):
            subprocess.run([sys.executable, *step], env=job_env, cwd=ROOT, check=True, capture_output=True)
        nginx_dir = self.workdir / "nginx"
        nginx_dir.mkdir(exist_ok=True)
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (nginx_dir / kind).mkdir(exist_ok=True)
        conf = nginx_dir / "nginx.conf"
        conf.write_text(render_nginx_conf(self.ports, self.replicas, self.workdir))
        out = open(self.workdir / "logs" / "nginx.log", "ab")  # noqa: SIM115 (closed with the process)
        self.procs["nginx"] = subprocess.Popen(
            [nginx, "-p", str(nginx_dir), "-c", str(conf), "-e", str(self.workdir / "logs" / "nginx-error.log"),
             "-g", "daemon off;"], stdout=out, stderr=subprocess.STDOUT)
        for role in names:
            for n, port in enumerate(self.replicas[role], start=1):
                var_dir = self.var_dir(f"{role}-{n}")
                if role == "gateway":  # the shared bot-photos volume
                    (var_dir / "photos").symlink_to(self.workdir / "photos")
                self._spawn(f"{role}-{n}", role, port, self.base_env(var_dir) | self.role_env(role))
        self._wait_until_ready(("redis", *(f"{r}-{n}" for r in names for n in range(1, REPLICAS + 1))))

    def var_dir(self, name: str) -> Path:
        path = self.workdir / "var" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def replica_port(self, name: str) -> int:
        role, n = name.rsplit("-", 1)
        return self.replicas[role][int(n) - 1]

    def _ready(self, name: str) -> bool:
        if name == "redis":
            return answers("redis", self.ports["redis"], self.rasa_token)
        return answers(name.rsplit("-", 1)[0], self.replica_port(name), self.rasa_token)

    @property
    def rasa_token(self) -> str:
        return replace(get_settings(), secret=self.secret).rasa_api_token

    def front_log(self, role: str) -> list[list[int]]:
        """For each request the `role` front passed on, the replica ports it tried, in order (nginx's
        $upstream_addr: "a, b" when the first one failed)."""
        tried = []
        for line in (self.workdir / "logs" / "nginx-access.log").read_text().splitlines():
            upstream = re.search(r"upstream=(\S.*?) upstream_status=", line)
            if not upstream:
                continue
            ports = [int(addr.rsplit(":", 1)[1]) for addr in upstream.group(1).split(", ") if ":" in addr]
            if ports and ports[0] in self.replicas[role]:
                tried.append(ports)
        return tried

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            if "/" in self.database_url and self.database_url.startswith("postgresql"):
                self.drop_database()


def wait_for(check: Callable[[], bool], seconds: float = 15.0) -> bool:
    """Poll `check()` until it is true or `seconds` passed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False
