"""Run the processes of a Procfile and keep them running (`bin/up` uses it).

    python -m bot.supervise [-f Procfile] [--health NAME=URL ...] [NAME ...]

Each process runs in its own process group with its output prefixed by its name. When one exits, the others keep
serving and it is started again after a back-off: 0.5 s, doubling up to 30 s while it keeps exiting within
`--stable` seconds (30) of its start, and 0.5 s again once it stayed up that long. A line says when a process exits
and when it is started again. SIGINT or SIGTERM stops them all: SIGTERM to each process group, SIGKILL to whatever
is left after `--grace` seconds (a second Ctrl-C kills at once). If the supervisor itself is killed, its children
get SIGTERM from the kernel (Linux), so no process is left holding a port.

Health checks catch a process that hangs without exiting (a deadlock, SIGSTOP). A process given `--health NAME=URL`
(see `probe`) is probed every `--health-interval` seconds (5), each probe given `--health-timeout` seconds (5);
`--health-failures` (3) failed probes in a row get it SIGTERM (with SIGCONT, which a stopped process needs), SIGKILL
after `--grace` seconds and a restart with the back-off, with a line saying why. Failures count only once it has
answered or `--health-grace` seconds (120; Rasa loads its model for 30-60 s) have passed since its start. Defaults
from BOT_HEALTH_INTERVAL, BOT_HEALTH_TIMEOUT, BOT_HEALTH_FAILURES, BOT_HEALTH_GRACE; `bin/up` takes the URLs from
`python -m bot.launch --health`.

honcho, used before, stopped every process when one exited; nothing in requirements.lock restarts processes.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import http.client
import math
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Program:
    name: str
    argv: list[str]
    health: str | None = None  # a URL answered while the process is alive (see `probe`)


@dataclass(frozen=True)
class Health:
    """When a process that has not exited counts as hung (the module's docstring)."""

    interval: float = 5.0
    timeout: float = 5.0
    failures: int = 3
    grace: float = 120.0

    @classmethod
    def from_env(cls) -> Health:
        env = os.environ.get
        return cls(float(env("BOT_HEALTH_INTERVAL", "5")), float(env("BOT_HEALTH_TIMEOUT", "5")),
                   int(env("BOT_HEALTH_FAILURES", "3")), float(env("BOT_HEALTH_GRACE", "120")))


@dataclass
class Child:
    program: Program
    delay: float
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restart_at: float = 0.0
    starts: int = 0
    pump: threading.Thread | None = field(default=None, repr=False)
    # health, reset at each start
    answered: bool = False  # has answered a probe since this start
    failures: int = 0  # failed probes in a row
    next_probe: float = 0.0
    probe: Future[str | None] | None = field(default=None, repr=False)  # the probe running now
    kill_at: float | None = None  # after the supervisor's SIGTERM: when SIGKILL follows
    why: str = ""  # why the supervisor stopped it


def read_procfile(path: Path, names: list[str] | None = None) -> list[Program]:
    """The programs of a Procfile (`name: command` lines), all of them or those named, in the order asked."""
    programs: dict[str, Program] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, cmd = line.partition(":")
        if not sep or not name.strip() or not cmd.strip():
            raise SystemExit(f"{path}: not a `name: command` line: {line!r}")
        programs[name.strip()] = Program(name.strip(), shlex.split(cmd))
    unknown = [n for n in names or () if n not in programs]
    if unknown:
        raise SystemExit(f"{path} has no process {', '.join(unknown)} (it has {', '.join(programs)})")
    return [programs[n] for n in names] if names else list(programs.values())


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # probes go straight to 127.0.0.1


def probe(url: str, timeout: float) -> str | None:
    """None when the server behind `url` answers within `timeout` seconds, else why not (a few words).

    `http(s)://...`: any HTTP answer below 500 (a 401 or 404 still comes from a live process); `redis://host:port`:
    any answer to PING (`-LOADING` too). A connection accepted by the kernel and never answered (a stopped or
    deadlocked process) times out."""
    parts = urlsplit(url)
    try:
        if parts.scheme == "redis":
            with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout) as sock:
                sock.sendall(b"PING\r\n")
                reply = sock.recv(64)
            return None if reply[:1] in (b"+", b"-") else f"answered {reply[:20]!r} to PING"
        if parts.scheme not in ("http", "https"):
            return f"cannot probe {parts.scheme or url!r} URLs"
        try:
            with _NO_PROXY.open(url, timeout=timeout) as resp:
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        return None if status < 500 else f"answered HTTP {status}"
    except (OSError, http.client.HTTPException) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, TimeoutError):  # socket.timeout is TimeoutError since Python 3.10
            return f"no answer within {timeout:g} s"
        if isinstance(reason, ConnectionRefusedError):
            return "connection refused"
        return f"{type(reason).__name__}: {reason}"


def _pdeathsig() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to send the child SIGTERM when the supervisor dies; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # loaded here: nothing may be loaded after fork
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG, kept across exec
        if os.getppid() != parent:  # the supervisor died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        # uvicorn re-raises the SIGTERM it handled: that is a clean stop, not a crash
        return f"{'stopped' if -code in (signal.SIGTERM, signal.SIGINT) else 'killed'} by {name}"
    return f"exited with code {code}"


class Supervisor:
    def __init__(
        self,
        programs: list[Program],
        *,
        min_delay: float = 0.5,
        max_delay: float = 30.0,
        stable_after: float = 30.0,
        grace: float = 10.0,
        health: Health | None = None,
        out: IO[str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        if not programs:
            raise ValueError("nothing to supervise")
        self.children = [Child(p, delay=min_delay) for p in programs]
        self.min_delay, self.max_delay, self.stable_after, self.grace = min_delay, max_delay, stable_after, grace
        self.health = health or Health()
        self._probes = ThreadPoolExecutor(len(programs), thread_name_prefix="probe")  # off the supervisor's loop
        self.out = out or sys.stdout
        self.cwd = cwd
        self.stopping = threading.Event()
        self._signals = 0
        self._write_lock = threading.Lock()
        self._width = max(len("supervise"), *(len(p.name) for p in programs))
        self._preexec = _pdeathsig()

    def say(self, name: str, text: str) -> None:
        with self._write_lock:
            self.out.write(f"{time.strftime('%H:%M:%S')} {name:<{self._width}} | {text}\n")
            self.out.flush()

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.say(name, raw.decode("utf-8", "replace").rstrip("\r\n"))
        stream.close()

    def _start(self, child: Child) -> None:
        name = child.program.name
        child.starts += 1
        child.started = time.monotonic()
        child.answered, child.failures, child.probe, child.kill_at, child.why = False, 0, None, None, ""
        child.next_probe = child.started + min(self.health.interval, 1.0)
        try:
            proc = subprocess.Popen(
                child.program.argv,
                cwd=self.cwd,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: our signals reach its children, a terminal's do not
                preexec_fn=self._preexec,
            )
        except OSError as exc:
            self.say("supervise", f"{name} could not start: {exc}")
            self._schedule(child, time.monotonic())
            return
        child.proc = proc
        child.pump = threading.Thread(target=self._pump, args=(name, proc.stdout), daemon=True)
        child.pump.start()
        if child.starts == 1:
            self.say("supervise", f"{name} started (pid {proc.pid})")
        else:
            self.say("supervise", f"{name} restarted (pid {proc.pid}, restart {child.starts - 1})")

    def _schedule(self, child: Child, now: float) -> float:
        """When `child` starts again; the delay doubles while it keeps failing soon after starting (or, when it has a
        health check, without ever answering it)."""
        if now - child.started >= self.stable_after and (child.answered or child.program.health is None):
            child.delay = self.min_delay
        delay = child.delay
        child.restart_at = now + delay
        child.delay = min(delay * 2, self.max_delay)
        return delay

    def _signal_group(self, proc: subprocess.Popen[bytes], sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)  # the group id is the child's pid (start_new_session)

    def _reap(self, child: Child, now: float) -> None:
        proc = child.proc
        assert proc is not None and proc.returncode is not None
        self._signal_group(proc, signal.SIGKILL)  # anything it left behind in its group
        if child.pump:
            child.pump.join(timeout=1)
        child.proc = None
        uptime = now - child.started
        delay = self._schedule(child, now)
        why = f" ({child.why})" if child.why else ""
        self.say("supervise", f"{child.program.name} {describe_exit(proc.returncode)} after {uptime:.1f} s{why}; "
                              f"the others keep running; restarting it in {delay:g} s")

    def _check_health(self, child: Child, now: float) -> None:
        """Probe a running child every interval (in a thread); stop it when it looks hung."""
        proc, url = child.proc, child.program.health
        if proc is None or url is None:
            return
        if child.kill_at is not None:  # stopping it: SIGKILL once its grace is over
            if now >= child.kill_at:
                self.say("supervise", f"{child.program.name} still running: SIGKILL")
                self._signal_group(proc, signal.SIGKILL)
                child.kill_at = math.inf
            return
        if child.probe is not None:
            if not child.probe.done():
                return
            why, child.probe = child.probe.result(), None
            self._judge(child, now, why)
            if child.kill_at is not None:
                return
        if now >= child.next_probe:
            child.next_probe = now + self.health.interval
            child.probe = self._probes.submit(probe, url, self.health.timeout)

    def _judge(self, child: Child, now: float, why: str | None) -> None:
        name, uptime, limit = child.program.name, now - child.started, self.health.failures
        if why is None:
            if not child.answered:
                self.say("supervise", f"{name} answers its health check ({uptime:.1f} s after its start)")
            child.answered, child.failures = True, 0
            return
        if not child.answered and uptime < self.health.grace:
            return  # still starting (Rasa loads its model before it answers)
        child.failures += 1
        if child.failures < limit:
            self.say("supervise", f"{name} failed its health check ({child.failures} of {limit}): {why}")
            return
        said = (f"failed {limit} health checks in a row ({child.program.health}: {why})" if child.answered else
                f"has not answered its health check ({child.program.health}) within {self.health.grace:g} s of its "
                f"start ({why})")
        child.why = "hung: stopped by the supervisor"
        self.say("supervise", f"{name} {said}; stopping it (SIGTERM, SIGKILL after {self.grace:g} s)")
        assert child.proc is not None
        self._signal_group(child.proc, signal.SIGTERM)
        self._signal_group(child.proc, signal.SIGCONT)  # a stopped process sees the SIGTERM only once it runs
        child.kill_at = now + self.grace

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._signals += 1
        self.stopping.set()

    def run(self) -> int:
        """Start everything and keep it running until SIGINT/SIGTERM (or `stopping` is set); then stop it all."""
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, self._on_signal)
        for child in self.children:
            self._start(child)
        while not self.stopping.wait(POLL_SECONDS):
            now = time.monotonic()
            for child in self.children:
                if child.proc is not None:
                    if child.proc.poll() is not None:
                        self._reap(child, now)
                    else:
                        self._check_health(child, now)
                elif now >= child.restart_at:
                    self._start(child)
        self.shutdown()
        return 0

    def shutdown(self) -> None:
        self._probes.shutdown(wait=False, cancel_futures=True)
        running = [c for c in self.children if c.proc is not None and c.proc.poll() is None]
        self.say("supervise", f"stopping {', '.join(c.program.name for c in running) or 'nothing'}")
        for child in running:
            assert child.proc is not None
            self._signal_group(child.proc, signal.SIGTERM)
        signals_before = self._signals
        deadline = time.monotonic() + self.grace
        left = list(running)
        while left:
            for child in [c for c in left if c.proc and c.proc.poll() is not None]:
                left.remove(child)
                self._stopped(child)
            if time.monotonic() > deadline or self._signals != signals_before:
                break
            time.sleep(POLL_SECONDS)
        for child in left:
            self.say("supervise", f"{child.program.name} still running: SIGKILL")
            assert child.proc is not None
            self._signal_group(child.proc, signal.SIGKILL)
            child.proc.wait()
            self._stopped(child)

    def _stopped(self, child: Child) -> None:
        assert child.proc is not None and child.proc.returncode is not None
        self._signal_group(child.proc, signal.SIGKILL)  # whatever it started and left behind
        if child.pump:
            child.pump.join(timeout=1)
        self.say("supervise", f"{child.program.name} {describe_exit(child.proc.returncode)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.supervise", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="processes of the Procfile to run (default: all)")
    parser.add_argument("-f", "--procfile", type=Path, default=Path("Procfile"))
    parser.add_argument("--min-delay", type=float, default=0.5, help="first restart delay, seconds")
    parser.add_argument("--max-delay", type=float, default=30.0, help="longest restart delay, seconds")
    parser.add_argument("--stable", type=float, default=30.0, help="up this long: the delay starts again at min")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds between SIGTERM and SIGKILL on stop")
    health = Health.from_env()
    parser.add_argument("--health", action="append", default=[], metavar="NAME=URL", help="probe NAME at URL")
    parser.add_argument("--health-interval", type=float, default=health.interval, help="seconds between probes")
    parser.add_argument("--health-timeout", type=float, default=health.timeout, help="seconds a probe may take")
    parser.add_argument("--health-failures", type=int, default=health.failures, help="failed probes before a restart")
    parser.add_argument("--health-grace", type=float, default=health.grace, help="start-up seconds before they count")
    args = parser.parse_args(argv)
    programs = read_procfile(args.procfile, args.names)
    urls: dict[str, str] = {}
    for item in args.health:
        name, sep, url = item.partition("=")
        if not sep or not url or name not in {p.name for p in programs}:
            parser.error(f"--health {item!r}: expected NAME=URL for one of {', '.join(p.name for p in programs)}")
        urls[name] = url
    supervisor = Supervisor(
        [replace(p, health=urls.get(p.name)) for p in programs],
        min_delay=args.min_delay,
        max_delay=args.max_delay,
        stable_after=args.stable,
        grace=args.grace,
        health=Health(args.health_interval, args.health_timeout, args.health_failures, args.health_grace),
    )
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
