"""Run the processes of a Procfile and keep them running (`bin/up` uses it).

    python -m bot.supervise [-f Procfile] [NAME ...]

Each process runs in its own process group with its output prefixed by its name. When one exits, the others keep
serving and it is started again after a back-off: 0.5 s, doubling up to 30 s while it keeps exiting within
`--stable` seconds (30) of its start, and 0.5 s again once it stayed up that long. A line says when a process exits
and when it is started again. SIGINT or SIGTERM stops them all: SIGTERM to each process group, SIGKILL to whatever
is left after `--grace` seconds (a second Ctrl-C kills at once). If the supervisor itself is killed, its children
get SIGTERM from the kernel (Linux), so no process is left holding a port.

honcho, used before, stopped every process when one exited; nothing in requirements.lock restarts processes.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Program:
    name: str
    argv: list[str]


@dataclass
class Child:
    program: Program
    delay: float
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restart_at: float = 0.0
    starts: int = 0
    pump: threading.Thread | None = field(default=None, repr=False)


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


def _pdeathsig() -> object:
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
        out: IO[str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        if not programs:
            raise ValueError("nothing to supervise")
        self.children = [Child(p, delay=min_delay) for p in programs]
        self.min_delay, self.max_delay, self.stable_after, self.grace = min_delay, max_delay, stable_after, grace
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
        try:
            proc = subprocess.Popen(
                child.program.argv,
                cwd=self.cwd,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: our signals reach its children, a terminal's do not
                preexec_fn=self._preexec,  # type: ignore[arg-type]
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
        """When `child` starts again; the delay doubles while it keeps failing soon after starting."""
        if now - child.started >= self.stable_after:
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
        self.say(
            "supervise",
            f"{child.program.name} {describe_exit(proc.returncode)} after {uptime:.1f} s; "
            f"the others keep running; restarting it in {delay:g} s",
        )

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
                elif now >= child.restart_at:
                    self._start(child)
        self.shutdown()
        return 0

    def shutdown(self) -> None:
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
    args = parser.parse_args(argv)
    programs = read_procfile(args.procfile, args.names)
    supervisor = Supervisor(
        programs,
        min_delay=args.min_delay,
        max_delay=args.max_delay,
        stable_after=args.stable,
        grace=args.grace,
    )
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
