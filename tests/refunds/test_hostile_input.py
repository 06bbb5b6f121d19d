"""The refund service over real HTTP refuses numbers and text SQL cannot hold with a 422, never a 500.

Found by fuzzing the OpenAPI schema (tests/fuzz/test_openapi_fuzz.py); each test failed before its fix.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.refunds.conftest import Server

HUGE = 2**70  # more than any SQL integer holds
INT_MAX = 2**31 - 1  # SQL INTEGER
PEN = {"shopper_id": "s1", "order_id": "O1001", "line_id": "O1001-1", "quantity": 1, "conversation_id": "c1"}
REFUND = {**PEN, "case_type": "not_delivered"}


def order(n: int, *, price: int = 100, quantity: int = 1, **extra: object) -> dict:
    line = {"sku": "SKU-1", "name": "商品", "unit_price_cents": price, "quantity": quantity}
    return {"order_id": f"OX{n}", "shopper_id": "s1", "lines": [line], **extra}


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=30) as c:
        yield c


def refused(resp: httpx.Response, status: int = 422) -> None:
    assert resp.status_code == status, (resp.request.method, resp.request.url, resp.status_code, resp.text)
    assert resp.json()["detail"]["code"], resp.text


def test_numbers_beyond_sql_integers_are_refused(client: httpx.Client) -> None:
    key = {"Idempotency-Key": "k1"}
    for resp in (
        client.post("/orders", json=order(1, quantity=HUGE)),
        client.post("/orders", json=order(2, price=HUGE)),
        client.post("/orders", json=order(3, price=INT_MAX, quantity=2)),  # the line's total overflows
        client.post("/refunds", json={**REFUND, "quantity": HUGE}, headers=key),
        client.post("/coupons", json={**PEN, "quantity": HUGE}, headers=key),
        client.get(f"/orders/O1001/lines/O1001-1/quote?quantity={HUGE}"),
        client.get("/notifications?min_age_seconds=1e300"),
        client.get("/notifications?min_age_seconds=inf"),
        client.post(f"/notifications/{HUGE}/delivered"),
        client.post(f"/notifications/{-HUGE}/delivered"),
    ):
        refused(resp)
    # the largest order a line can hold is still taken, and remedied
    big = client.post("/orders", json=order(4, price=1_000_000, quantity=100))
    assert big.status_code == 201, big.text
    coupon = {**PEN, "order_id": "OX4", "line_id": "OX4-1", "quantity": 100}
    assert client.post("/coupons", json=coupon, headers={"Idempotency-Key": "big"}).status_code == 201
    assert client.post("/notifications/12345/delivered").status_code == 404


def test_nul_characters_are_refused(client: httpx.Client) -> None:
    """Text with a NUL (PostgreSQL cannot store one) or a lone surrogate (not a character) is refused with 422
    before it reaches SQL, wherever it is: a body, a path or a query parameter."""
    first = client.post("/refunds", json=REFUND, headers={"Idempotency-Key": "r1"})
    assert first.status_code == 201, first.text
    rid = first.json()["refund_id"]
    for resp in (
        client.post("/orders", json=order(5, shopper_name="小\x00明")),
        client.post("/orders", json={**order(6), "status": "delivered\x00"}),
        client.post("/orders", json={**order(7), "lines": [{**order(7)["lines"][0], "name": "笔\x00"}]}),
        client.post("/orders", content=b'{"order_id": "OX8", "shopper_id": "s1", "lines": [{"sku": "S", '
                    b'"name": "\\ud800", "unit_price_cents": 1, "quantity": 1}]}',
                    headers={"Content-Type": "application/json"}),
        client.post(f"/refunds/{rid}/reject", json={"decided_by": "a1", "reason": "照片\x00不清楚"}),
        client.post("/complaints", json={"shopper_id": "s1", "conversation_id": "c1", "text": "投诉\x00"},
                    headers={"Idempotency-Key": "c1"}),
        client.post("/refunds/rf%00/approve", json={"decided_by": "a1"}),
        *(client.get(path) for path in (
            "/orders/O1001%00", "/orders/O1001/lines/O1001-1%00/quote", "/refunds/rf%00", "/photos/ab%00",
            "/orders/O1001?shopper_id=s1%00", "/orders?shopper_id=s1%00", "/refunds?shopper_id=s1%00",
            "/notifications?shopper_id=s1%00", "/notifications?conversation_id=c1%00",
        )),
    ):
        refused(resp)
        assert resp.json()["detail"]["code"] == "unstorable_text", resp.text
    assert client.get(f"/refunds/{rid}").json()["state"] == "settled"
    assert client.get("/orders/OX5").status_code == 404


def test_unknown_paths_and_unreadable_bodies_keep_the_error_shape(client: httpx.Client) -> None:
    """Every refusal is {"detail": {"code", "message"}}, Starlette's own too (failed first: {"detail": "Not Found"})."""
    unreadable = client.post("/orders", content=b"\xff\xfe\x00", headers={"Content-Type": "application/json"})
    cases = (
        (client.get("/no/such/path"), 404, "no_such_path"),
        (client.delete("/refunds"), 405, "method_not_allowed"),
        (unreadable, 400, "bad_request"),  # not JSON in any encoding
    )
    for resp, status, code in cases:
        assert resp.status_code == status and resp.json()["detail"]["code"] == code, resp.text
        assert resp.json()["detail"]["message"]
    assert "POST" in cases[1][0].headers["allow"]
