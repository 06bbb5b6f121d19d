"""Live stream (SSE): every message exactly once, in order, across reconnects and lost notifications."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from bot.gateway.store import Database
from bot.gateway.transcript import NewMessage, append_messages
from tests.gateway.conftest import Rig
from tests.gateway.sse import frames


def _read(
    rig: Rig, cid: str, headers: dict[str, str], until_seq: int, path: str | None = None, **params: Any
) -> list[int]:
    seqs: list[int] = []
    url = rig.url + (path or f"/api/conversations/{cid}/stream")
    with (
        httpx.Client(timeout=httpx.Timeout(20.0)) as client,
        client.stream("GET", url, headers=headers, params=params) as resp,
    ):
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        for event_id, _event, msg in frames(resp):
            assert event_id == msg["seq"]
            seqs.append(msg["seq"])
            if msg["seq"] >= until_seq:
                break
    return seqs


def _writers(rig: Rig, cid: str, threads: int, each: int) -> None:
    def write(n: int) -> None:
        with httpx.Client(timeout=30) as client:
            for i in range(each):
                resp = client.post(
                    f"{rig.url}/api/conversations/{cid}/messages",
                    headers=rig.shopper("s1"),
                    json={"text": f"写手{n}-{i}"},
                )
                assert resp.status_code == 200

    pool = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


def test_stream_delivers_concurrent_messages_once_in_order(rig: Rig) -> None:
    cid = rig.open()
    total = 1 + 4 * 8 * 2  # greeting + (shopper + bot) per message
    got: list[int] = []
    reader = threading.Thread(target=lambda: got.extend(_read(rig, cid, rig.shopper("s1"), total, after=0)))
    reader.start()
    _writers(rig, cid, threads=4, each=8)
    reader.join(timeout=30)
    assert got == list(range(1, total + 1))


def test_resume_after_disconnect_without_loss_or_duplicates(rig: Rig) -> None:
    cid = rig.open()
    s1 = rig.shopper("s1")
    _writers(rig, cid, threads=1, each=3)  # seq 1..7
    first = _read(rig, cid, s1, 4)
    assert first == [1, 2, 3, 4]
    _writers(rig, cid, threads=2, each=3)  # seq 8..19 while disconnected
    by_header = _read(rig, cid, {**s1, "Last-Event-ID": "4"}, 19)
    assert by_header == list(range(5, 20))
    by_query = _read(rig, cid, s1, 19, after=17)
    assert by_query == [18, 19]


def test_lost_notification_is_backfilled_from_sql(rig: Rig) -> None:
    cid = rig.open()
    got: list[int] = []
    reader = threading.Thread(target=lambda: got.extend(_read(rig, cid, rig.shopper("s1"), 3)))
    reader.start()
    db = Database(rig.db_url)  # written straight to SQL: no pub/sub notification at all
    db.run_sync(append_messages, cid, [NewMessage(sender="bot", text="a"), NewMessage(sender="bot", text="b")])
    db.dispose()
    reader.join(timeout=15)
    assert got == [1, 2, 3]


def test_agent_stream_and_access(rig: Rig) -> None:
    cid = rig.open()
    _writers(rig, cid, threads=1, each=1)
    assert _read(rig, cid, rig.agent("a1"), 3, path=f"/api/agent/conversations/{cid}/stream") == [1, 2, 3]
    with httpx.Client() as client:
        assert client.get(f"{rig.url}/api/conversations/{cid}/stream", headers=rig.shopper("s2")).status_code == 403
        assert (
            client.get(f"{rig.url}/api/agent/conversations/{cid}/stream", headers=rig.shopper("s1")).status_code == 401
        )


def test_long_backlog_is_streamed_in_pages(rig: Rig) -> None:
    cid = rig.open()
    db = Database(rig.db_url)
    db.run_sync(append_messages, cid, [NewMessage(sender="bot", text=str(i)) for i in range(1200)])
    db.dispose()
    assert _read(rig, cid, rig.shopper("s1"), 1201) == list(range(1, 1202))
