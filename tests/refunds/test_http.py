"""The refund service over real HTTP (uvicorn subprocess): auth, errors and concurrent duplicates."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from bot.refunds.models import Coupon, OrderLine, Refund
from bot.tokens import mint
from tests.refunds.conftest import Server

PEN = {
    "shopper_id": "s1",
    "order_id": "O1001",
    "line_id": "O1001-1",
    "quantity": 1,
    "case_type": "not_delivered",
    "conversation_id": "c1",
}


def fire(server: Server, bodies_and_keys: list[tuple[dict, str]], path: str = "/refunds") -> list[httpx.Response]:
    """Send all requests at the same moment, one thread each."""
    barrier = threading.Barrier(len(bodies_and_keys))
    responses: list[httpx.Response | None] = [None] * len(bodies_and_keys)

    def send(i: int, body: dict, key: str) -> None:
        with httpx.Client(base_url=server.url, headers=server.headers, timeout=60) as client:
            barrier.wait()
            responses[i] = client.post(path, json=body, headers={"Idempotency-Key": key})

    threads = [threading.Thread(target=send, args=(i, b, k)) for i, (b, k) in enumerate(bodies_and_keys)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r is not None for r in responses)
    return responses  # type: ignore[return-value]


def test_twenty_identical_requests_make_one_refund(server: Server, sessions: sessionmaker) -> None:
    responses = fire(server, [(PEN, "same-key")] * 20)
    assert Counter(r.status_code for r in responses) == {201: 1, 200: 19}
    assert len({r.json()["refund_id"] for r in responses}) == 1
    with sessions() as s:
        assert s.execute(select(func.count(Refund.id)).where(Refund.shopper_id == "s1")).scalar_one() == 1
        line = s.get(OrderLine, "O1001-1")
        assert (line.remedied_quantity, line.refunded_cents) == (1, 350)


S1_LINES = [("O1001", "O1001-1", 12), ("O1001", "O1001-2", 3), ("O1001", "O1001-3", 1), ("O1002", "O1002-1", 1),
            ("O1002", "O1002-2", 2), ("O1003", "O1003-1", 1), ("O1003", "O1003-2", 1)]


def test_identical_coupon_requests_at_once_make_one_coupon(server: Server, sessions: sessionmaker) -> None:
    """A double (or tenfold) click on 优惠券 gives the shopper one coupon and the same answer every time, never
    a 409. Failed first on PostgreSQL: a request that looked its key up before the first coupon was committed
    then found the line's quantity taken. One burst per line of s1's, so the race is met every run."""
    for order_id, line_id, quantity in S1_LINES:
        coupon = {"shopper_id": "s1", "order_id": order_id, "line_id": line_id, "quantity": quantity}
        responses = fire(server, [(coupon, f"coupon-{line_id}")] * 10, path="/coupons")
        assert Counter(r.status_code for r in responses) == {201: 1, 200: 9}, [r.text for r in responses]
        assert len({r.json()["code"] for r in responses}) == 1
    with sessions() as s:
        assert s.execute(select(func.count(Coupon.id)).where(Coupon.shopper_id == "s1")).scalar_one() == 7
        assert all(s.get(OrderLine, line).remedied_quantity == q for _, line, q in S1_LINES)


def test_twenty_different_requests_cannot_exceed_the_line(server: Server, sessions: sessionmaker) -> None:
    responses = fire(server, [(PEN, f"key-{i}") for i in range(20)])
    assert Counter(r.status_code for r in responses) == {201: 12, 409: 8}
    assert {r.json()["detail"]["code"] for r in responses if r.status_code == 409} == {"quantity_exceeded"}
    with sessions() as s:
        line = s.get(OrderLine, "O1001-1")
        paid = s.execute(
            select(func.sum(Refund.amount_cents)).where(Refund.line_id == "O1001-1")
        ).scalar_one()
        assert (line.remedied_quantity, line.refunded_cents, paid) == (12, 4200, 4200)


def test_auth_and_error_shape(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get("/orders/O1001").status_code == 401
        agent = {"Authorization": f"Bearer {mint('agent', 'a1')}"}
        denied = client.get("/orders/O1001", headers=agent)
        assert denied.status_code == 401 and denied.json()["detail"]["code"] == "invalid_token"
        client.headers.update(server.headers)
        assert client.get("/orders/O9999").json() == {
            "detail": {"code": "order_not_found", "message": "order O9999 does not exist"}
        }
        assert client.post("/refunds", json=PEN).status_code == 422  # no Idempotency-Key
        bad = client.post("/refunds", json={**PEN, "quantity": 0}, headers={"Idempotency-Key": "k"})
        assert bad.status_code == 422 and bad.json()["detail"]["code"] == "invalid_request"
        mine = client.post("/refunds", json={**PEN, "shopper_id": "s2"}, headers={"Idempotency-Key": "k"})
        assert mine.status_code == 403
        first = client.post("/refunds", json=PEN, headers={"Idempotency-Key": "k"})
        assert first.status_code == 201
        changed = client.post("/refunds", json={**PEN, "quantity": 2}, headers={"Idempotency-Key": "k"})
        assert changed.status_code == 422 and changed.json()["detail"]["code"] == "idempotency_key_reused"
        too_many = client.post("/refunds", json={**PEN, "quantity": 12}, headers={"Idempotency-Key": "k2"})
        assert too_many.status_code == 409
        settled = client.post(f"/refunds/{first.json()['refund_id']}/reject", json={"decided_by": "a1"})
        assert settled.status_code == 409 and settled.json()["detail"]["code"] == "illegal_transition"
