"""A photo sent again after a 职业退货's edit is the same photo; another shot of the same product is not.

Small generated photos (tests/evidence/products.py) through the real upload pipeline (`store_photo`) and the
evidence store's comparison (`near_duplicate_keys`, `near_duplicates`), as a refund's risk score asks.
"""

from __future__ import annotations

import pytest
from PIL import Image

from bot.evidence import fingerprint
from bot.evidence import store as evidence
from bot.evidence.store import StoredPhoto
from tests.evidence import products

ORIGINAL = products.jpeg(products.shot(7, "first"))


def _store(session, data: bytes, shopper_id: str = "s1") -> StoredPhoto:
    return evidence.store_photo(session, data=data, kind="items", shopper_id=shopper_id, conversation_id="c_1")


def _selected(copy: StoredPhoto, original: StoredPhoto) -> bool:
    """Whether the index keys of `copy` select `original`, as risk.reused_photo_ids's band lookup would."""
    keys = evidence.near_duplicate_keys([copy])
    full = any(b in k for b, k in zip(evidence.hash_bands(original.phash), keys.full, strict=True))
    assert original.centre_hash is not None
    centre = any(b in k for b, k in zip(evidence.hash_bands(original.centre_hash), keys.centre, strict=True))
    return full or centre


@pytest.mark.parametrize("edit", sorted(products.EDITS))
def test_an_edited_copy_is_found_through_the_index_and_confirmed(session, photo_dir, edit):
    original = _store(session, ORIGINAL)
    copy = _store(session, products.edited(ORIGINAL, edit, seed=3), shopper_id="s2")
    assert _selected(copy, original)
    assert evidence.near_duplicates([copy], [(original.id, original.phash, original.centre_hash)]) == [copy.id]


def test_other_shots_of_the_same_product_are_not_the_same_photo(session, photo_dir):
    original = _store(session, ORIGINAL)
    others = [_store(session, products.jpeg(products.shot(7, f"other{i}")), shopper_id="s2") for i in range(4)]
    in_use = [(original.id, original.phash, original.centre_hash)]
    assert evidence.near_duplicates(others, in_use) == []


def test_a_screenshot_hashes_as_the_photo_it_shows():
    photo = products.decode(ORIGINAL)
    screenshot = Image.open(__import__("io").BytesIO(products.edited(ORIGINAL, "screenshot", seed=1))).convert("RGB")
    assert screenshot.size != photo.size
    assert fingerprint.normalise(screenshot).size[0] < screenshot.size[0]
    distance = (int(fingerprint.full_hash(screenshot), 16) ^ int(fingerprint.full_hash(photo), 16)).bit_count()
    assert distance <= 6


def test_a_photo_without_flat_edges_keeps_the_hash_stored_before_normalising():
    import imagehash

    photo = products.decode(ORIGINAL)
    assert fingerprint.full_hash(photo) == str(imagehash.phash(photo))


def test_a_photo_whose_file_is_gone_is_matched_by_its_full_hash_only(session, photo_dir):
    original = _store(session, ORIGINAL)
    cropped = _store(session, products.edited(ORIGINAL, "crop", seed=3), shopper_id="s2")
    session.commit()
    evidence.photo_path(original).unlink()
    assert evidence.near_duplicates([cropped], [(original.id, original.phash, original.centre_hash)]) == []
