"""bot.supervise's health checks with real processes: a process that hangs without exiting (SIGSTOP) is killed and
started again, one still inside its start-up grace (Rasa loading its model) is left alone, and the probes tell an
answer from silence against real servers."""

from __future__ import annotations

import http.server
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlparse

import pytest

from bot.supervise import probe
from tests.faults.test_supervisor import SERVER, SLEEPER, Run, alive, free_port, serving, wait_for

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
# starts listening only after a few seconds, as Rasa does while it loads its model
SLOW_SERVER = "import time\ntime.sleep(3)\n" + SERVER
FAST = ("--health-interval", "0.3", "--health-timeout", "0.5", "--health-failures", "2", "--grace", "1")


class SilentServer:
    """A TCP server that accepts every connection and never says a word (a hung process, a wedged Redis)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def __enter__(self) -> SilentServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    with SilentServer() as server:
        yield server


def test_a_stopped_process_is_killed_and_started_again(supervise: Callable[..., Run]) -> None:
    port = free_port()
    run = supervise({"web": SERVER, "worker": SLEEPER}, "--health", f"web=http://127.0.0.1:{port}/health",
                    *FAST, "--health-grace", "20", port=port)
    wait_for(lambda: "web answers its health check" in run.output(), 15, "web answering its health check")
    web, worker = run.pid("web"), run.pid("worker")
    assert web and worker

    stopped = time.monotonic()
    os.kill(web, signal.SIGSTOP)  # hung: it neither answers nor exits
    wait_for(lambda: run.pid("web") not in (None, web) and serving(port), 20, "web back with a new pid")
    wait_for(lambda: run.output().count("web answers its health check") == 2, 10, "the new web answering")
    back = time.monotonic() - stopped
    print(f"\nweb stopped with SIGSTOP, a new one answering its health check after {back:.2f} s")

    assert not alive(web)
    assert run.pid("worker") == worker and alive(worker)  # untouched
    out = run.output()
    assert re.search(r"supervise \| web failed 2 health checks in a row \(http://127\.0\.0\.1:\d+/health: "
                     r"no answer within 0\.5 s\); stopping it", out), out
    assert re.search(r"web stopped by SIGTERM after [\d.]+ s \(hung: stopped by the supervisor\); the others keep "
                     r"running; restarting it in 0\.5 s", out), out
    assert "web restarted (pid" in out and "worker restarted" not in out, out
    assert back < 15, back  # generous: about 2 s of failed checks and 1 s of grace here


def test_a_slow_starter_inside_its_grace_is_left_alone(supervise: Callable[..., Run]) -> None:
    port = free_port()
    run = supervise({"rasa": SLOW_SERVER}, "--health", f"rasa=http://127.0.0.1:{port}/", *FAST,
                    "--health-grace", "20", port=port)
    started = time.monotonic()
    wait_for(lambda: "rasa answers its health check" in run.output(), 20, "the slow starter answering")
    assert time.monotonic() - started > 2.5  # it really was silent for about 3 s: about ten failed probes
    pid = run.pid("rasa")
    time.sleep(1)  # a few more probes, all answered
    out = run.output()
    assert run.pid("rasa") == pid and pid and alive(pid), out
    assert "failed" not in out and "stopping it" not in out and "restarted" not in out, out


def test_a_process_that_never_answers_is_restarted_after_its_grace(supervise: Callable[..., Run]) -> None:
    nobody = free_port()
    run = supervise({"deaf": SLEEPER}, "--health", f"deaf=http://127.0.0.1:{nobody}/", *FAST, "--health-grace", "1.5")
    wait_for(lambda: run.pid("deaf"), 10, "deaf started")
    first = run.pid("deaf")
    wait_for(lambda: run.pid("deaf") not in (None, first), 20, "deaf started again")
    out = run.output()
    assert re.search(r"deaf has not answered its health check \(http://127\.0\.0\.1:\d+/\) within 1\.5 s of its "
                     r"start \(connection refused\); stopping it", out), out
    assert "deaf stopped by SIGTERM" in out, out


def test_the_probes_tell_an_answer_from_silence(silent: SilentServer) -> None:
    redis_url = urlparse(TEST_REDIS_URL)
    assert probe(f"redis://{redis_url.hostname}:{redis_url.port}", 2) is None  # PONG
    assert probe(f"redis://127.0.0.1:{silent.port}", 0.5) == "no answer within 0.5 s"
    assert probe(f"http://127.0.0.1:{silent.port}/health", 0.5) == "no answer within 0.5 s"
    assert probe(f"http://127.0.0.1:{free_port()}/health", 0.5) == "connection refused"

    class Broken(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(500 if self.path == "/broken" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Broken)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        assert probe(f"{base}/broken", 2) == "answered HTTP 500"
        assert probe(f"{base}/status", 2) is None  # any answer below 500 is alive (Rasa's /status wants a token)
    finally:
        server.shutdown()
        server.server_close()
