"""bot.supervise with real processes: a killed process comes back without touching the others, one that keeps
crashing is restarted ever more slowly, and SIGTERM to the supervisor stops every child."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.settings import ROOT
from bot.supervise import Child, Program, Supervisor, read_procfile

SLEEPER = """
import os, sys, time
tmp = sys.argv[1] + ".tmp"
open(tmp, "w").write(str(os.getpid()))
os.replace(tmp, sys.argv[1])
while True:
    time.sleep(1)
"""
SERVER = """
import http.server, os, sys
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[2])), http.server.SimpleHTTPRequestHandler)
tmp = sys.argv[1] + ".tmp"
open(tmp, "w").write(str(os.getpid()))
os.replace(tmp, sys.argv[1])
server.serve_forever()
"""
CRASHER = """
import sys, time
with open(sys.argv[1], "a") as fh:
    fh.write(f"{time.time()}\\n")
sys.exit(3)
"""
STUBBORN = "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + SLEEPER


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def wait_for(cond: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


def serving(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Run:
    """`python -m bot.supervise` on a Procfile of dummy processes, its output in a file."""

    def __init__(self, tmp: Path, procfile: dict[str, str], *options: str, port: int | None = None) -> None:
        self.tmp = tmp
        self.log = tmp / "supervise.log"
        self.port = port or free_port()  # for the dummy that serves
        lines = []
        for name, script in procfile.items():
            (tmp / f"{name}.py").write_text(script)
            lines.append(f"{name}: {sys.executable} {tmp / name}.py {tmp / name}.pid {self.port}")
        (tmp / "Procfile").write_text("\n".join(lines) + "\n")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.supervise", "-f", str(tmp / "Procfile"), *options],
            cwd=ROOT,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def pid(self, name: str) -> int | None:
        return read_pid(self.tmp / f"{name}.pid")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pidfile in self.tmp.glob("*.pid"):  # never leave a dummy behind, whatever the test did
            pid = read_pid(pidfile)
            if pid and alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_killed_process_comes_back_and_the_others_keep_running(supervise: Callable[..., Run]) -> None:
    run = supervise({"web": SERVER, "worker": SLEEPER})
    wait_for(lambda: run.pid("web") and run.pid("worker") and serving(run.port), 15, "both dummies up")
    web, worker = run.pid("web"), run.pid("worker")
    assert web and worker

    killed = time.monotonic()
    os.kill(web, signal.SIGKILL)
    wait_for(lambda: run.pid("web") not in (None, web) and serving(run.port), 10, "web back with a new pid")
    back = time.monotonic() - killed
    print(f"\nweb killed with SIGKILL, serving again after {back:.2f} s")

    assert run.pid("worker") == worker and alive(worker)  # untouched
    assert run.proc.poll() is None
    out = run.output()
    assert re.search(r"supervise \| web killed by SIGKILL after [\d.]+ s; the others keep running; "
                     r"restarting it in 0\.5 s", out), out
    assert f"web restarted (pid {run.pid('web')}, restart 1)" in out, out


def test_a_process_that_keeps_crashing_is_restarted_with_growing_delays(
    supervise: Callable[..., Run], tmp_path: Path
) -> None:
    run = supervise({"crash": CRASHER, "worker": SLEEPER}, "--min-delay", "0.2", "--max-delay", "1.6")
    starts_file = tmp_path / "crash.pid"  # the crasher appends its start times there
    wait_for(lambda: len(starts_file.read_text().split()) >= 6 if starts_file.exists() else False, 20, "6 starts")
    starts = [float(t) for t in starts_file.read_text().split()]
    delays = [float(d) for d in re.findall(r"crash exited with code 3 after [\d.]+ s; .*? in ([\d.]+) s", run.output())]
    assert delays[:5] == [0.2, 0.4, 0.8, 1.6, 1.6], run.output()
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert all(gap >= delay for gap, delay in zip(gaps, delays, strict=False)), (gaps, delays)
    assert gaps[3] > gaps[0] + 1.0, gaps  # growing (1.6 s against 0.2 s), not a hot loop
    assert run.pid("worker") and alive(int(run.pid("worker") or 0))


def test_sigterm_to_the_supervisor_stops_every_child(supervise: Callable[..., Run]) -> None:
    run = supervise({"web": SERVER, "worker": SLEEPER, "stubborn": STUBBORN}, "--grace", "1")
    wait_for(lambda: all(run.pid(n) for n in ("web", "worker", "stubborn")) and serving(run.port), 15, "all up")
    pids = {n: run.pid(n) for n in ("web", "worker", "stubborn")}

    run.proc.send_signal(signal.SIGTERM)
    assert run.proc.wait(timeout=10) == 0
    for name, pid in pids.items():
        assert pid and not alive(pid), name
    assert not serving(run.port)
    out = run.output()
    assert "web stopped by SIGTERM" in out and "worker stopped by SIGTERM" in out, out
    assert "stubborn still running: SIGKILL" in out and "stubborn killed by SIGKILL" in out, out


def test_back_off_starts_again_at_the_minimum_after_a_stable_run() -> None:
    sup = Supervisor([Program("p", ["true"])], min_delay=0.5, max_delay=30, stable_after=60)
    child: Child = sup.children[0]
    child.started = 0.0
    assert [sup._schedule(child, 1.0) for _ in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    child.started = 100.0
    assert sup._schedule(child, 161.0) == 0.5  # stayed up 61 s: a fresh failure, not the eighth in a row


def test_procfile_is_read_in_the_order_asked(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text("# comment\na: echo 'one two'\n\nb: sleep 1\n")
    assert read_procfile(tmp_path / "Procfile") == [Program("a", ["echo", "one two"]), Program("b", ["sleep", "1"])]
    assert [p.name for p in read_procfile(tmp_path / "Procfile", ["b", "a"])] == ["b", "a"]
    with pytest.raises(SystemExit, match="no process c"):
        read_procfile(tmp_path / "Procfile", ["c"])
