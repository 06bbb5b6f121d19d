"""Photo upload through the gateway: good photos fill the bot's slot; bad files change nothing."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.db import make_engine
from bot.evidence.models import Photo
from bot.gateway.messages import BOT_UNAVAILABLE
from bot.transcript.models import Message
from tests.gateway.conftest import Rig


def jpeg(width: int = 640, height: int = 480) -> bytes:
    img = Image.effect_noise((width, height), 40).convert("RGB")
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0110] = "SecretPhone 9"  # camera model; must not survive re-encoding
    img.save(buf, "JPEG", quality=85, exif=exif)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pixel_flood_png(side: int = 30000) -> bytes:
    """A real, valid 30000x30000 1-bit PNG of ~100 KB that would inflate to 900 megapixels."""
    row = b"\x00" * (1 + (side + 7) // 8)
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _counts(rig: Rig) -> tuple[int, int, int]:
    eng = make_engine(rig.db_url)
    with eng.connect() as conn:
        photos = conn.execute(select(func.count()).select_from(Photo)).scalar_one()
        msgs = conn.execute(select(func.count()).select_from(Message)).scalar_one()
    eng.dispose()
    files = len(list((rig.var_dir / "photos").glob("*"))) if (rig.var_dir / "photos").exists() else 0
    return int(photos), int(msgs), files


def _upload(
    rig: Rig,
    cid: str,
    data: bytes,
    *,
    kind: str = "package",
    name: str = "photo.jpg",
    ctype: str = "image/jpeg",
    sid: str = "s1",
):  # noqa: ANN202
    return rig.post(
        f"/api/conversations/{cid}/photos",
        rig.shopper(sid),
        data={"kind": kind},
        files={"file": (name, data, ctype)},
    )


def test_good_photo_is_stored_forwarded_and_served_to_owner_and_agents(rig: Rig) -> None:
    cid = rig.open("s1", "O1001")
    resp = _upload(rig, cid, jpeg())
    assert resp.status_code == 201, resp.text
    body = resp.json()
    photo_id = body["photo_id"]
    shopper_msg, bot_msg = body["messages"]
    assert shopper_msg["sender"] == "shopper" and shopper_msg["image"] == f"/api/photos/{photo_id}"
    assert shopper_msg["photo_kind"] == "package" and "快递外包装" in shopper_msg["text"]
    assert bot_msg["sender"] == "bot" and bot_msg["text"] == "已收到package照片"
    assert rig.rasa.events(cid)[-1] == {
        "shopper_id": "s1",
        "conversation_id": cid,
        "event": "photo",
        "photo_id": photo_id,
        "photo_kind": "package",
    }

    own = rig.get(f"/api/photos/{photo_id}", rig.shopper("s1"))
    assert own.status_code == 200 and own.headers["content-type"] == "image/jpeg"
    served = Image.open(io.BytesIO(own.content))
    assert served.format == "JPEG" and 0x0110 not in served.getexif()
    assert rig.get(f"/api/photos/{photo_id}", rig.agent("a1")).status_code == 200
    assert rig.get(f"/api/photos/{photo_id}", rig.shopper("s2")).status_code == 404
    assert rig.get(f"/api/photos/{photo_id}", {}).status_code == 401
    assert rig.get(f"/static/../var/photos/{photo_id}.jpg", {}).status_code == 404
    assert not any(p.suffix == ".jpg" for p in Path("bot/gateway/static").rglob("*"))


def test_bad_kind_and_missing_file(rig: Rig) -> None:
    cid = rig.open()
    before = _counts(rig)
    bad = _upload(rig, cid, jpeg(), kind="selfie")
    assert bad.status_code == 422 and bad.json()["message_zh"] and bad.json()["message_en"]
    missing = rig.post(f"/api/conversations/{cid}/photos", rig.shopper("s1"), data={"kind": "items"})
    assert missing.status_code == 422
    assert _counts(rig) == before


def _truncated_jpeg() -> bytes:
    data = jpeg(1200, 900)
    return data[: len(data) // 2]


BAD_FILES = {
    "not_an_image": lambda: (b"hello, this is just text\n" * 10, "photo.jpg", "image/jpeg"),
    "renamed_html": lambda: (
        b"<!doctype html><html><script>alert(1)</script></html>",
        "photo.jpg",
        "image/jpeg",
    ),
    "renamed_svg": lambda: (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>',
        "photo.png",
        "image/png",
    ),
    "pixel_flood": lambda: (pixel_flood_png(), "flood.png", "image/png"),
    "oversized": lambda: (b"\xff\xd8\xff\xe0" + b"\x00" * (10 * 1024 * 1024 + 10), "big.jpg", "image/jpeg"),
    "truncated_jpeg": lambda: (_truncated_jpeg(), "cut.jpg", "image/jpeg"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_upload_is_refused_and_changes_nothing(rig: Rig, case: str) -> None:
    cid = rig.open()
    data, name, ctype = BAD_FILES[case]()
    before = _counts(rig)
    forwarded = len(rig.rasa.events(cid))
    t0 = time.perf_counter()
    resp = _upload(rig, cid, data, name=name, ctype=ctype)
    elapsed_ms = (time.perf_counter() - t0) * 1000
    print(f"\n{case}: {len(data)} bytes -> {resp.status_code} {resp.json().get('code')} in {elapsed_ms:.0f} ms")
    assert 400 <= resp.status_code < 500, resp.text
    body = resp.json()
    assert body["message_zh"] and body["message_en"] and body["code"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message_zh"])
    assert _counts(rig) == before
    assert len(rig.rasa.events(cid)) == forwarded
    if case == "pixel_flood":
        assert elapsed_ms < 2000


def test_photo_while_agent_holds_reaches_the_bot_on_release(rig: Rig) -> None:
    cid = rig.open()
    s1, a1 = rig.shopper("s1"), rig.agent("a1")
    rig.post(f"/api/conversations/{cid}/handoff", s1)
    assert rig.post(f"/api/agent/conversations/{cid}/claim", a1).status_code == 200
    resp = _upload(rig, cid, jpeg(), kind="label")
    assert resp.status_code == 201
    assert [m["sender"] for m in resp.json()["messages"]] == ["shopper"]
    assert not [e for e in rig.rasa.events(cid) if e["event"] == "photo"]
    released = rig.post(f"/api/agent/conversations/{cid}/release", a1).json()
    assert [e["photo_id"] for e in rig.rasa.events(cid) if e["event"] == "photo"] == [resp.json()["photo_id"]]
    assert released["messages"][-1]["text"] == "已收到label照片"


def test_a_photo_the_bot_missed_at_release_reaches_it_before_the_next_message(rig: Rig) -> None:
    """Rasa was down when the agent gave the chat back: the photo stays owed to the bot, and goes to it (once, before
    the shopper's next text) as soon as it answers again."""
    cid = rig.open()
    s1, a1 = rig.shopper("s1"), rig.agent("a1")
    rig.post(f"/api/conversations/{cid}/handoff", s1)
    assert rig.post(f"/api/agent/conversations/{cid}/claim", a1).status_code == 200
    photo_id = _upload(rig, cid, jpeg(), kind="label").json()["photo_id"]
    rig.rasa.down = True
    assert rig.post(f"/api/agent/conversations/{cid}/release", a1).status_code == 200
    assert not [e for e in rig.rasa.events(cid) if e["event"] == "photo"]

    rig.rasa.down = False
    said = rig.post(f"/api/conversations/{cid}/messages", s1, json={"text": "照片发了"}).json()["messages"]
    assert [(e["event"], e.get("photo_id") or e.get("text")) for e in rig.rasa.events(cid)][-2:] == [
        ("photo", photo_id), ("text", "照片发了")]
    assert [m["text"] for m in said if m["sender"] == "bot"] == ["已收到label照片", "收到：照片发了"]
    eng = make_engine(rig.db_url)
    with eng.connect() as conn:  # the parse is still kept on the shopper's text, not on the photo's answer
        said_text = select(Message.nlu).where(Message.conversation_id == cid, Message.text == "照片发了")
        nlu = conn.execute(said_text).scalar()
    eng.dispose()
    assert nlu and nlu["intent"] == "nlu_fallback", nlu
    rig.post(f"/api/conversations/{cid}/messages", s1, json={"text": "还有别的吗"})
    assert [e["photo_id"] for e in rig.rasa.events(cid) if e["event"] == "photo"] == [photo_id]  # once


def test_a_photo_the_bot_missed_at_release_goes_before_the_next_photo(rig: Rig) -> None:
    cid = rig.open()
    s1, a1 = rig.shopper("s1"), rig.agent("a1")
    rig.post(f"/api/conversations/{cid}/handoff", s1)
    assert rig.post(f"/api/agent/conversations/{cid}/claim", a1).status_code == 200
    first = _upload(rig, cid, jpeg(), kind="package").json()["photo_id"]
    rig.rasa.down = True
    assert rig.post(f"/api/agent/conversations/{cid}/release", a1).status_code == 200
    rig.rasa.down = False
    resp = _upload(rig, cid, jpeg(), kind="label")
    assert resp.status_code == 201, resp.text
    sent = [(e["photo_id"], e["photo_kind"]) for e in rig.rasa.events(cid) if e["event"] == "photo"]
    assert sent == [(first, "package"), (resp.json()["photo_id"], "label")]
    answers = [m["text"] for m in resp.json()["messages"] if m["sender"] == "bot"]
    assert answers == ["已收到package照片", "已收到label照片"]


def test_a_photo_sent_while_the_bot_is_down_is_kept_for_it(rig: Rig) -> None:
    """The shopper is told the bot is unavailable, and does not have to send the photo again: it reaches the bot,
    once, before their next message."""
    cid = rig.open()
    s1 = rig.shopper("s1")
    rig.rasa.down = True
    resp = _upload(rig, cid, jpeg(), kind="package")
    assert resp.status_code == 201, resp.text
    assert [m["text"] for m in resp.json()["messages"] if m["sender"] == "bot"] == [BOT_UNAVAILABLE]

    rig.rasa.down = False
    said = rig.post(f"/api/conversations/{cid}/messages", s1, json={"text": "好了吗"}).json()["messages"]
    assert [(e["event"], e.get("photo_id") or e.get("text")) for e in rig.rasa.events(cid)][-2:] == [
        ("photo", resp.json()["photo_id"]), ("text", "好了吗")]
    assert [m["text"] for m in said if m["sender"] == "bot"] == ["已收到package照片", "收到：好了吗"]
    rig.post(f"/api/conversations/{cid}/messages", s1, json={"text": "还在吗"})
    assert [e["photo_id"] for e in rig.rasa.events(cid) if e["event"] == "photo"] == [resp.json()["photo_id"]]
