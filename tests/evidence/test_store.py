"""The evidence store's lookups and near-duplicate check, through its API only."""

from __future__ import annotations

import dataclasses
import io
from datetime import datetime, timezone

import pytest
from PIL import Image, ImageEnhance
from sqlalchemy.orm import Session

from bot.evidence.store import StoredPhoto, get_photo, near_duplicates, shopper_photos, store_photo
from bot.policy import load_policy
from tests.evidence import images

MAX_DISTANCE = int(load_policy()["risk"]["photo_hash_max_distance"])


def _store(session: Session, data: bytes, shopper_id: str = "s1") -> StoredPhoto:
    return store_photo(session, data=data, kind="items", shopper_id=shopper_id, conversation_id="c_1")


def _photo(photo_id: str, phash: str) -> StoredPhoto:
    return StoredPhoto(
        id=photo_id,
        shopper_id="s1",
        conversation_id="c_1",
        kind="items",
        content_type="image/jpeg",
        phash=phash,
        width=10,
        height=10,
        original_format="JPEG",
        original_bytes=100,
        created_at=datetime.now(timezone.utc),
        filename=f"{photo_id}.jpg",
    )


def _recompressed(data: bytes) -> bytes:
    """The same picture sent again: a little brighter, scaled and saved at another JPEG quality."""
    with Image.open(io.BytesIO(data)) as img:
        img = ImageEnhance.Brightness(img.convert("RGB")).enhance(1.05).resize((360, 270))
        out = io.BytesIO()
        img.save(out, "JPEG", quality=70)
    return out.getvalue()


def test_a_recompressed_copy_is_found_but_not_the_photo_itself_nor_another_picture(session, photo_dir):
    original = _store(session, images.noisy_jpeg(seed=1))
    copy = _store(session, _recompressed(images.noisy_jpeg(seed=1)), shopper_id="s2")
    other = _store(session, images.noisy_jpeg(seed=2), shopper_id="s2")
    in_use = [(original.id, original.phash)]

    assert near_duplicates([copy, other, original], in_use) == [copy.id]
    assert near_duplicates([original], in_use) == []  # a photo is not a copy of itself
    assert near_duplicates([copy], []) == []
    assert near_duplicates([], in_use) == []


def test_near_duplicates_allow_the_policy_distance_and_no_more():
    base = "d1c4a0b0f0e0c0a1"

    def flipped(bits: int) -> str:
        return f"{int(base, 16) ^ ((1 << bits) - 1):016x}"

    near, far = _photo("b" * 32, flipped(MAX_DISTANCE)), _photo("c" * 32, flipped(MAX_DISTANCE + 1))
    in_use = iter([("a" * 32, base)])  # any iterable, read once
    assert near_duplicates([far, near], in_use) == [near.id]


def test_shopper_photos_are_only_the_shoppers_existing_ones(session, photo_dir):
    mine = _store(session, images.png_rgba())
    theirs = _store(session, images.png_rgba(), shopper_id="s2")
    session.commit()

    found = shopper_photos(session, shopper_id="s1", photo_ids=[mine.id, theirs.id, "0" * 32, "../../etc"])
    assert list(found) == [mine.id]
    assert found[mine.id].phash == mine.phash and found[mine.id].kind == "items"
    assert shopper_photos(session, shopper_id="s1", photo_ids=[]) == {}


def test_lookups_return_frozen_snapshots(session, photo_dir):
    stored = _store(session, images.png_rgba())
    session.commit()
    again = get_photo(session, stored.id)
    assert again is not None
    assert dataclasses.replace(again, created_at=stored.created_at) == stored
    with pytest.raises(dataclasses.FrozenInstanceError):
        again.kind = "label"  # type: ignore[misc]
