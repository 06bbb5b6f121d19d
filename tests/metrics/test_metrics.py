"""Each service's /metrics: who may read it, what the refund service counts, route templates, several workers, and
the scrape config and dashboard that read it. The whole stack after a real conversation: test_metrics_e2e.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import yaml

from bot import metrics
from bot.settings import ROOT, get_settings
from bot.tokens import mint
from tests.e2e.stack import free_port
from tests.metrics.scrape import DASHBOARD, PROMETHEUS, dashboard, panels, parse, queried_series, scrape
from tests.refunds.conftest import Server

PEN = {"shopper_id": "s1", "order_id": "O1001", "line_id": "O1001-1", "quantity": 1, "conversation_id": "c1"}
REFUND_ROUTE = "/refunds/{refund_id}"


def post(server: Server, path: str, body: dict[str, object], key: str | None = None) -> httpx.Response:
    headers = {**server.headers, "Idempotency-Key": key or uuid.uuid4().hex}
    return httpx.post(server.url + path, json=body, headers=headers, timeout=30)


def test_only_ops_and_service_tokens_read_the_refund_services_metrics(server: Server) -> None:
    assert httpx.get(f"{server.url}/metrics").status_code == 401
    for role in ("shopper", "agent", "trainer", "supervisor"):
        resp = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {mint(role, 'x1', 3600)}"})
        assert resp.status_code == 401, role
        assert resp.json()["detail"]["code"] == "metrics_readers_only"
    for role in ("ops", "service"):
        scrape(server.url, mint(role, "prometheus", 3600))


def test_refunds_and_coupons_are_counted_once_after_commit(server: Server, evidence: Callable[[str], list[str]],
                                                            ) -> None:
    before = scrape(server.url, server.token)
    key = uuid.uuid4().hex
    fast = post(server, "/refunds", {**PEN, "case_type": "damaged", "photo_ids": evidence("s1")}, key)
    assert fast.status_code == 201 and fast.json()["state"] == "settled", fast.text
    assert post(server, "/refunds", {**PEN, "case_type": "damaged", "photo_ids": fast.json()["photo_ids"]},
                key).status_code == 200  # a replay: no second refund, nothing counted
    # no photos for a damaged item: an agent has to look
    review = post(server, "/refunds", {**PEN, "line_id": "O1001-2", "case_type": "damaged", "photo_ids": []})
    assert review.status_code == 201 and review.json()["state"] == "needs_review", review.text
    approved = post(server, f"/refunds/{review.json()['refund_id']}/approve", {"decided_by": "a1"})
    assert approved.json()["state"] == "settled"
    coupon = post(server, "/coupons", {**PEN, "line_id": "O1001-3"})
    assert coupon.status_code == 201, coupon.text
    after = scrape(server.url, server.token)

    def moved(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert moved("aftersales_refunds_created_total", case_type="damaged", state="settled") == 1
    assert moved("aftersales_refunds_created_total", case_type="damaged", state="needs_review") == 1
    assert moved("aftersales_refund_decisions_total", decision="approved") == 1
    assert moved("aftersales_refunded_cents_total", case_type="damaged") == 350 + 1290  # a pen, then a notebook
    assert moved("aftersales_coupons_issued_total") == 1
    assert moved("aftersales_coupon_value_cents_total") == coupon.json()["value_cents"]


def test_request_latency_is_labelled_by_route_template_not_path(server: Server) -> None:
    created = post(server, "/refunds", {**PEN, "case_type": "not_delivered", "photo_ids": []})
    refund_id = created.json()["refund_id"]
    assert httpx.get(f"{server.url}/refunds/{refund_id}", headers=server.headers).status_code == 200
    assert httpx.get(f"{server.url}/no/such/{refund_id}", headers=server.headers).status_code == 404
    after = scrape(server.url, server.token)
    name = "aftersales_http_request_duration_seconds_count"
    assert after.value(name, route=REFUND_ROUTE, method="GET", status="2xx") >= 1
    assert after.value(name, route="/refunds", method="POST", status="2xx") >= 1
    assert after.value(name, route=metrics.UNMATCHED, status="4xx") >= 1
    assert not [labels for labels in after.labels(name) if refund_id in "".join(labels.values())]


def test_every_worker_is_counted_when_several_serve(tmp_path: Path, db_url: str, seeded: None) -> None:
    """Two uvicorn workers with PROMETHEUS_MULTIPROC_DIR (set up by bot.launch): a scrape, whichever worker answers
    it, counts the requests both workers served."""
    port, token = free_port(), mint("service", "tests", 3600)
    env = {**os.environ, "DATABASE_URL": db_url, "BOT_SECRET": get_settings().secret, "WEB_CONCURRENCY": "2",
           metrics.MULTIPROC_ENV: str(tmp_path / "prom")}
    proc = subprocess.Popen([sys.executable, "-m", "bot.launch", "refunds", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, proc)
        for _ in range(40):
            with httpx.Client() as fresh:  # a new connection each time, so both workers get some
                assert fresh.get(f"{url}/orders/O1001", headers={"Authorization": f"Bearer {token}"}).is_success
        workers = {p.name.rsplit("_", 1)[-1] for p in (tmp_path / "prom" / "refunds").glob("histogram_*.db")}
        assert len(workers) == 2, f"requests went to one worker only: {workers}"
        for _ in range(4):  # whichever worker answers, it reports the sum
            counted = scrape(url, token).value("aftersales_http_request_duration_seconds_count",
                                               route="/orders/{order_id}", method="GET")
            assert counted == 40
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the refund service exited"
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the refund service did not start in 60 s")


def test_scrape_config_reads_every_service_with_a_token_file() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"gateway", "refunds", "actions"}
    ports = {"gateway": 8000, "refunds": 8001, "actions": 5055}  # the contract's (bot/launch.py PORTS)
    for name, job in jobs.items():
        assert job["static_configs"][0]["targets"] == [f"127.0.0.1:{ports[name]}"]
        assert job["authorization"]["type"] == "Bearer" and job["authorization"]["credentials_file"]


def test_dashboard_queries_only_metrics_the_services_define() -> None:
    board = dashboard()
    assert board["uid"] and board["title"] and DASHBOARD.name.endswith(".json")
    graphs = [p for p in panels(board) if p["type"] != "row"]
    assert len(graphs) >= 10 and all(p["targets"] for p in graphs)
    defined = set()
    for registry in (metrics.GATEWAY, metrics.REFUNDS, metrics.ACTIONS):
        for family in registry.collect():
            defined |= {family.name + suffix for suffix in ("", "_total", "_bucket", "_count", "_sum")}
    queried = queried_series()
    for needed in ("aftersales_bot_answer_seconds_bucket", "aftersales_handoffs_total", "aftersales_fallbacks_total",
                   "aftersales_refunds_created_total", "aftersales_refunded_cents_total",
                   "aftersales_photo_rejections_total", "aftersales_http_request_duration_seconds_count"):
        assert needed in queried, needed
    assert set(queried) <= defined, set(queried) - defined


def test_exposition_parses_and_names_carry_the_prefix() -> None:
    body, content_type = metrics.exposition(metrics.GATEWAY)
    assert content_type.startswith("text/plain")
    names = {name for name, _ in parse(body.decode()).samples}
    assert names  # process figures at least
    families = [f.name for r in (metrics.GATEWAY, metrics.REFUNDS, metrics.ACTIONS) for f in r.collect()]
    assert all(n.startswith(("aftersales_", "process_", "python_")) for n in families), families


@pytest.mark.parametrize("authorization,allowed", [
    (None, False), ("", False), ("Bearer", False), ("Basic abc", False), ("Bearer not-a-token", False),
])
def test_malformed_authorization_is_refused(authorization: str | None, allowed: bool) -> None:
    assert metrics.may_read(authorization) is allowed
