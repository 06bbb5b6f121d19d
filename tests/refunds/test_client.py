"""RefundsClient against a real refund service process."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from bot.launch import command
from bot.rasa_protocol import PHOTO_KINDS
from bot.refunds.client import RefundsClient, RefundsError
from bot.settings import ROOT, get_settings
from bot.tokens import mint
from tests.refunds.conftest import Server, _free_port


async def test_client_round_trip(server: Server, add_photo) -> None:
    photos = [add_photo("s3", kind=k, conversation_id="c9") for k in PHOTO_KINDS]
    async with RefundsClient(server.url, server.token) as client:
        orders = await client.list_orders("s1")
        assert [o.order_id for o in orders] == ["O1001", "O1002", "O1003"]
        order = await client.get_order("O1001")
        pen = order.lines[0]
        assert (pen.name, pen.unit_price_cents, pen.quantity) == ("晨光中性笔 0.5mm 黑色", 350, 12)

        quote = await client.quote("O1001", pen.line_id, 1)
        assert (quote.refund_cents, quote.coupon_cents, quote.recommended, quote.max_quantity) == (
            350,
            525,
            "refund",
            12,
        )

        fast = await client.create_refund(
            shopper_id="s1",
            order_id="O1001",
            line_id=pen.line_id,
            quantity=1,
            case_type="not_delivered",
            conversation_id="c1",
            idempotency_key="k1",
        )
        assert fast.state == "settled" and fast.amount_cents == 350
        again = await client.create_refund(
            shopper_id="s1",
            order_id="O1001",
            line_id=pen.line_id,
            quantity=1,
            case_type="not_delivered",
            conversation_id="c1",
            idempotency_key="k1",
        )
        assert again.refund_id == fast.refund_id
        notes = await client.list_notifications("s1")
        assert [(n.kind, n.refund_id, n.conversation_id) for n in notes] == [("refund_settled", fast.refund_id, "c1")]
        assert notes[0].text.startswith("极速退款成功！") and "¥3.50已原路退回" in notes[0].text
        assert await client.list_notifications(conversation_id="c1", undelivered=True) == notes
        assert await client.list_notifications(conversation_id="c2", undelivered=True) == []
        assert await client.list_notifications(undelivered=True) == notes  # everyone's: the gateway's sweep
        assert await client.list_notifications(undelivered=True, min_age_seconds=3600) == []  # too fresh
        delivered = await client.mark_delivered(notes[0].id)
        assert delivered.delivered_at is not None
        assert (await client.mark_delivered(notes[0].id)).delivered_at == delivered.delivered_at  # idempotent
        assert await client.list_notifications("s1", undelivered=True) == []
        with pytest.raises(RefundsError) as err:
            await client.mark_delivered(999999)
        assert err.value.status == 404

        risky = await client.create_refund(
            shopper_id="s3",
            order_id="O3001",
            line_id="O3001-1",
            quantity=2,
            case_type="damaged",
            photo_ids=photos,
            conversation_id="c9",
            idempotency_key="k2",
        )
        assert risky.state == "needs_review" and {r.code for r in risky.risk_reasons} >= {"frequent_refunds"}
        assert sorted(risky.photo_ids) == sorted(photos)
        photo = await client.get_photo(photos[0])
        assert (photo.shopper_id, photo.conversation_id, photo.kind, photo.reused) == (
            "s3",
            "c9",
            "package",
            False,
        )
        approved = await client.approve(risky.refund_id, decided_by="agent7", reason="核实无误")
        assert approved.state == "settled" and [e.to_state for e in approved.events][-2:] == [
            "approved",
            "settled",
        ]
        assert (await client.get_refund(risky.refund_id)).decided_by == "agent7"
        assert [r.refund_id for r in await client.list_refunds("s3")][0] == risky.refund_id

        coupon = await client.issue_coupon(
            shopper_id="s1",
            order_id="O1001",
            line_id="O1001-2",
            quantity=1,
            conversation_id="c1",
            idempotency_key="k3",
        )
        assert coupon.value_cents == 1935 and coupon.code  # one 得力 A5 笔记本 (1290) x coupon_multiplier 1.5

        with pytest.raises(RefundsError) as err:
            await client.get_order("O1001", shopper_id="s2")
        assert (err.value.status, err.value.code) == (403, "not_your_order")
        with pytest.raises(RefundsError) as err:
            await client.settle(fast.refund_id)
        assert (err.value.status, err.value.code) == (409, "illegal_transition")
        with pytest.raises(RefundsError) as err:
            await client.reject("rf_missing", decided_by="agent7")
        assert err.value.status == 404


async def test_client_reports_an_unreachable_service() -> None:
    async with RefundsClient("http://127.0.0.1:9", "t", retry_budget=0.5) as client:
        started = time.monotonic()
        with pytest.raises(RefundsError) as err:
            await client.get_order("O1001")
    assert err.value.status == 0
    assert time.monotonic() - started < 5  # tried again within its budget, then gave up


@pytest.mark.parametrize("order_id", ["O1001?shopper_id=s1", "O1001#x", "O1001\x01", "O1001/lines"])
async def test_ids_are_one_escaped_path_segment(server: Server, order_id: str) -> None:
    """An id is never read as a query, a fragment or more of the path, and a control character is sent escaped
    (unescaped, `?` fetched order O1001 and \\x01 was a 500)."""
    async with RefundsClient(server.url, server.token) as client:
        with pytest.raises(RefundsError) as err:
            await client.get_order(order_id)
        assert (err.value.status, err.value.code) in ((404, "order_not_found"), (404, "no_such_path"))
        with pytest.raises(RefundsError) as err:
            await client.quote(order_id, "O1001-1", 1)
        assert err.value.status == 404
        with pytest.raises(RefundsError) as err:
            await client.get_refund(order_id)
        assert err.value.status == 404
        assert (await client.get_order("O1001")).order_id == "O1001"


class FlakyServer:
    """A real HTTP server that answers 503 to the first `failures` requests, then 200 with a fixed order."""

    def __init__(self, failures: int) -> None:
        self.failures, self.requests = failures, []  # type: ignore[var-annotated]
        flaky = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                flaky.requests.append((self.command, self.path))
                body = json.dumps(ORDER if len(flaky.requests) > flaky.failures else {"detail": "restarting"})
                self.send_response(200 if len(flaky.requests) > flaky.failures else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            do_GET = do_POST = _answer

            def log_message(self, *_args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


ORDER = {"order_id": "O1001", "shopper_id": "s1", "placed_at": "2024-01-01T00:00:00Z", "status": "delivered",
         "lines": []}


async def test_idempotent_calls_are_tried_again_after_a_503_and_others_are_not() -> None:
    flaky = FlakyServer(failures=2)
    try:
        async with RefundsClient(flaky.url, "t") as client:
            assert (await client.get_order("O1001")).order_id == "O1001"  # two 503s, then the answer
            assert [m for m, _ in flaky.requests] == ["GET"] * 3
            flaky.requests.clear()
            with pytest.raises(RefundsError) as err:  # approving twice is not harmless: sent once
                await client.approve("rf_1", decided_by="agent7")
            assert err.value.status == 503 and flaky.requests == [("POST", "/refunds/rf_1/approve")]
        async with RefundsClient(flaky.url, "t", retry_budget=0.5) as client:
            flaky.requests.clear()
            flaky.failures = 1000
            with pytest.raises(RefundsError) as err:  # still failing when the budget is spent: the last answer
                await client.get_order("O1001")
            assert err.value.status == 503 and 2 <= len(flaky.requests) < 10
    finally:
        flaky.close()


def _start_refunds(db_url: str, port: int, **env: str) -> subprocess.Popen[bytes]:
    proc_env = {**os.environ, "DATABASE_URL": db_url, "BOT_SECRET": get_settings().secret, **env}
    cmd = [*command("refunds", port=port)[0], "--log-level", "warning"]
    return subprocess.Popen(cmd, cwd=ROOT, env=proc_env)


def _wait_serving(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, f"refund service exited with {proc.returncode}"
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "refund service did not start in 30 s"
        time.sleep(0.1)


@pytest.mark.parametrize("point", ["refunds.before_commit", "refunds.after_commit", "coupons.after_commit"])
async def test_a_remedy_whose_service_was_killed_mid_request_is_made_once_on_retry(
    db_url: str, seeded: None, tmp_path: Path, point: str
) -> None:
    """The refund service is SIGKILLed inside the remedy's transaction (before COMMIT: nothing was written) or right
    after it (written, never answered) and comes back at once, as bot.supervise brings it back: the client's retry
    under the same Idempotency-Key gets the remedy, made exactly once."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    mark = tmp_path / "faults"
    procs = [_start_refunds(db_url, port, BOT_FAULTS=point, BOT_FAULTS_MARK=str(mark))]
    done = threading.Event()

    def supervise() -> None:  # start it again (unarmed) the moment it dies
        while procs[0].poll() is None:
            if done.wait(0.02):
                return
        procs.append(_start_refunds(db_url, port))

    watcher = threading.Thread(target=supervise, daemon=True)
    try:
        _wait_serving(url, procs[0])
        watcher.start()
        async with RefundsClient(url, mint("service", "tests")) as client:
            if point.startswith("refunds"):
                made = await client.create_refund(shopper_id="s1", order_id="O1001", line_id="O1001-1", quantity=1,
                                                  case_type="not_delivered", conversation_id="c1",
                                                  idempotency_key="k-fault")
                assert made.state == "settled" and made.amount_cents == 350
            else:
                coupon = await client.issue_coupon(shopper_id="s1", order_id="O1001", line_id="O1001-1", quantity=1,
                                                   conversation_id="c1", idempotency_key="k-fault")
                assert coupon.value_cents == 525
            assert mark.read_text().split()[0] == point  # it did die there
            watcher.join(timeout=5)
            assert procs[0].returncode == -signal.SIGKILL
            order = await client.get_order("O1001")
            assert (order.lines[0].remedied_quantity, order.lines[0].refunded_cents) == (
                (1, 350) if point.startswith("refunds") else (1, 0))
            notes = await client.list_notifications(conversation_id="c1")
            assert [n.kind for n in notes] == (["refund_settled"] if point.startswith("refunds") else ["coupon_issued"])
            if point.startswith("refunds"):
                assert [r.refund_id for r in await client.list_refunds("s1") if r.conversation_id == "c1"] == [
                    made.refund_id]
                assert [e.to_state for e in made.events] == ["requested", "approved", "settled"]
    finally:
        done.set()
        if watcher.is_alive():
            watcher.join(10)
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)


def test_from_settings_mints_a_service_token_that_renews_itself() -> None:
    from bot.refunds.client import ServiceToken
    from bot.tokens import verify

    client = RefundsClient.from_settings()
    assert isinstance(client.token, ServiceToken)
    assert verify(client.token(), "service").role == "service"


class FakeClock:
    """Seconds since the epoch that move only when a test says so."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


async def test_a_client_made_at_start_still_works_after_its_first_token_ran_out(server: Server, monkeypatch) -> None:
    import time

    from bot import tokens
    from bot.refunds.client import ServiceToken

    clock = FakeClock(time.time() - 2 * 3600)
    monkeypatch.setattr(tokens, "clock", clock)  # tokens are minted at this clock's time
    source = ServiceToken("tests", clock=clock)
    client = RefundsClient(server.url, source)  # built once at start, as the gateway and the actions do
    first = source()
    clock.now += 2 * 3600  # two hours of uptime later: the first (one-hour) token ran out an hour ago
    try:
        assert (await client.get_order("O1001")).order_id == "O1001"
    finally:
        await client.aclose()
    async with RefundsClient(server.url, first) as stale:
        with pytest.raises(RefundsError) as err:
            await stale.get_order("O1001")
    assert (err.value.status, err.value.code) == (401, "invalid_token")


def test_a_service_token_is_renewed_when_less_than_five_minutes_are_left(monkeypatch) -> None:
    import jwt

    from bot import tokens
    from bot.refunds.client import ServiceToken

    clock = FakeClock(1_800_000_000.0)
    monkeypatch.setattr(tokens, "clock", clock)
    source = ServiceToken("tests", clock=clock)
    first = source()
    claims = jwt.decode(first, options={"verify_signature": False})
    assert (claims["role"], claims["sub"], claims["exp"] - claims["iat"]) == ("service", "tests", 3600)
    clock.now += 3600 - 301
    assert source() == first  # 5 min 1 s left: kept
    clock.now += 2
    renewed = source()  # 4 min 59 s left: a new one
    assert renewed != first
    assert jwt.decode(renewed, options={"verify_signature": False})["exp"] == int(clock.now) + 3600
