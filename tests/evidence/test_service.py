"""store_photo (through the evidence store's API) on real images and hostile files, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import io
import time
import tracemalloc
from pathlib import Path

import imagehash
import pytest
from PIL import Image, ImageFile
from sqlalchemy.orm import Session, sessionmaker

from bot.evidence.store import PhotoRejected, get_photo, photo_path, store_photo
from bot.policy import load_policy
from tests.evidence import images
from tests.evidence.conftest import photo_rows, stored_files

MAX_BYTES = int(load_policy()["photos"]["max_bytes"])


def _store(session: Session, data: bytes, kind: str = "package"):
    return store_photo(session, data=data, kind=kind, shopper_id="s1", conversation_id="c_1")


def _assert_rejected(
    session: Session,
    sessions: sessionmaker,
    photo_dir: Path,
    data: bytes,
    status: int,
    code: str,
    kind: str = "package",
) -> PhotoRejected:
    with pytest.raises(PhotoRejected) as info:
        _store(session, data, kind)
    exc = info.value
    assert (exc.status, exc.code) == (status, code)
    assert exc.message_zh and exc.message_en
    session.rollback()
    assert stored_files(photo_dir) == []
    assert photo_rows(sessions) == 0
    return exc


def test_jpeg_is_stored_upright_without_exif_or_comment(session, sessions, photo_dir):
    photo = _store(session, images.jpeg_with_exif((60, 40)))
    session.commit()

    path = photo_path(photo)
    assert path.parent == photo_dir and path.name == f"{photo.id}.jpg"
    assert stored_files(photo_dir) == [path]
    stored = path.read_bytes()
    markers = images.jpeg_markers(stored)
    assert 0xE1 not in markers  # no APP1: no EXIF, no XMP
    assert 0xFE not in markers  # no COM: the comment is gone
    for needle in (b"Exif", b"SpyCam", b"shopper home address"):
        assert needle not in stored
    with Image.open(io.BytesIO(stored)) as img:
        assert img.format == "JPEG"
        assert img.mode == "RGB"
        assert len(img.getexif()) == 0
        assert img.size == (40, 60)  # orientation 6 applied: landscape became portrait
    assert (photo.width, photo.height) == (40, 60)
    assert photo.original_format == "JPEG"
    assert photo.content_type == "image/jpeg"
    assert len(photo.phash) == 16 and int(photo.phash, 16) >= 0
    assert photo_rows(sessions) == 1
    with sessions() as s:
        again = get_photo(s, photo.id)
        assert again is not None and again.phash == photo.phash and again.kind == "package"


def test_png_with_transparency_is_flattened_to_jpeg(session, sessions, photo_dir):
    photo = _store(session, images.png_rgba(), kind="items")
    session.commit()
    with Image.open(photo_path(photo)) as img:
        assert img.format == "JPEG" and img.size == (80, 50)
        r, g, b = img.getpixel((5, 5))
        assert min(r, g, b) > 230  # the transparent corner became white, not black
    assert photo.original_format == "PNG"
    assert photo_rows(sessions) == 1


def test_large_photo_is_scaled_down(session, photo_dir):
    out = io.BytesIO()
    Image.new("RGB", (4096, 1024), (10, 200, 10)).save(out, "PNG")
    photo = _store(session, out.getvalue())
    # data/policy.yml photos.stored_max_side is 2048: the long side halves to it, the short one with it
    assert (photo.width, photo.height) == (2048, 512)


def test_phash_is_of_the_stored_picture(session, photo_dir):
    data = images.noisy_jpeg()
    photo = _store(session, data)
    with Image.open(photo_path(photo)) as stored, Image.open(io.BytesIO(data)) as original:
        assert imagehash.hex_to_hash(photo.phash) - imagehash.phash(stored) <= 2
        assert imagehash.hex_to_hash(photo.phash) - imagehash.phash(original) <= 2


def test_each_upload_gets_a_new_random_name(session, photo_dir):
    data = images.png_rgba()
    a, b = _store(session, data), _store(session, data)
    assert a.id != b.id and a.phash == b.phash
    assert len(stored_files(photo_dir)) == 2


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (images.HTML, 415, "unsupported_format"),
        (images.SVG, 415, "unsupported_format"),
        (images.gif(), 415, "unsupported_format"),
        (b"", 422, "empty_file"),
        (images.png_declaring(12001, 10), 422, "too_many_pixels"),
        (images.png_declaring(7000, 7000), 422, "too_many_pixels"),
    ],
    ids=["renamed-html", "svg", "gif", "empty", "too-wide", "over-max-pixels"],
)
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_hostile_or_unsupported_files_leave_nothing(session, sessions, photo_dir, data, status, code):
    _assert_rejected(session, sessions, photo_dir, data, status, code)


def test_pixel_flood_is_refused_fast_from_the_header(session, sessions, photo_dir):
    flood = images.png_declaring(30000, 30000)
    assert len(flood) < 200
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(PhotoRejected) as info:
        _store(session, flood)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert (info.value.status, info.value.code) == (422, "too_many_pixels")
    assert elapsed < 0.5, f"pixel flood took {elapsed:.3f}s to reject"
    assert peak < 5 * 1024 * 1024, f"pixel flood allocated {peak} bytes"  # 900 Mpx would be ~2.7 GB
    session.rollback()
    assert stored_files(photo_dir) == [] and photo_rows(sessions) == 0


@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")
def test_bomb_warning_raised_as_error_is_still_a_rejection(session, sessions, photo_dir):
    _assert_rejected(session, sessions, photo_dir, images.png_declaring(7000, 7000), 422, "too_many_pixels")


def test_oversized_upload_is_refused_before_decoding(session, sessions, photo_dir):
    data = images.noisy_jpeg((64, 64))
    data += b"\0" * (MAX_BYTES + 1 - len(data))
    exc = _assert_rejected(session, sessions, photo_dir, data, 413, "too_large")
    assert "10 MB" in exc.message_zh


def test_truncated_jpeg_is_refused(session, sessions, photo_dir):
    data = images.noisy_jpeg()
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    _assert_rejected(session, sessions, photo_dir, data[: len(data) * 6 // 10], 422, "corrupt_image")


def test_truncated_jpeg_is_refused_even_if_someone_enabled_truncated_loading(
    session, sessions, photo_dir, monkeypatch
):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = images.noisy_jpeg()
    _assert_rejected(session, sessions, photo_dir, data[: len(data) // 2], 422, "corrupt_image")


def test_unknown_kind_is_refused(session, sessions, photo_dir):
    _assert_rejected(session, sessions, photo_dir, images.png_rgba(), 422, "unknown_kind", kind="selfie")


def test_rolled_back_transaction_removes_the_file(session, sessions, photo_dir):
    photo = _store(session, images.png_rgba())
    assert photo_path(photo).exists()
    session.rollback()
    assert stored_files(photo_dir) == []
    assert photo_rows(sessions) == 0


def test_closing_without_commit_removes_the_file(sessions, photo_dir):
    with sessions() as s:
        _store(s, images.png_rgba())
        assert len(stored_files(photo_dir)) == 1
    assert stored_files(photo_dir) == []
    assert photo_rows(sessions) == 0


def test_get_photo_ignores_malformed_ids(session, photo_dir):
    assert get_photo(session, "../../etc/passwd") is None
    assert get_photo(session, "0" * 32) is None


def test_photo_path_refuses_a_tampered_filename(session, photo_dir):
    photo = dataclasses.replace(_store(session, images.png_rgba()), filename="../../secret")
    with pytest.raises(ValueError):
        photo_path(photo)
