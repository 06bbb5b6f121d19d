"""The evidence store's one API: keep a shopper's photo, look photos up, find re-used pictures.

Everything outside `bot/evidence/` goes through here. The photos table (`models.py`), the upload pipeline
(`service.py`) and the perceptual-hash comparison (`phash.py`) belong to this package alone; callers get
`StoredPhoto` snapshots, never table rows. Importing this module stays light: Pillow and imagehash are
loaded by the first `store_photo`.

Which photos back which refund is the refund service's knowledge (its `refund_photos` table keeps each
attached photo's id and hash); whether two pictures are the same is this store's, so the refund service
hands those (photo id, hash) pairs to `near_duplicates`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.evidence.messages import PhotoRejected
from bot.evidence.models import Photo
from bot.evidence.phash import BANDS, as_int, band_probes, bands
from bot.policy import load_policy
from bot.rasa_protocol import PHOTO_ID_PATTERN
from bot.settings import get_settings

__all__ = [
    "BANDS",
    "PhotoRejected",
    "StoredPhoto",
    "get_photo",
    "hash_bands",
    "near_duplicate_keys",
    "near_duplicates",
    "photo_path",
    "shopper_photos",
    "store_photo",
]

_FILENAME = re.compile(r"[0-9a-f]{32}\.jpg")


@dataclass(frozen=True)
class StoredPhoto:
    """One accepted photo: who sent it in which conversation, what it shows, and its perceptual hash."""

    id: str
    shopper_id: str
    conversation_id: str
    kind: str  # one of bot.rasa_protocol.PHOTO_KINDS
    content_type: str
    phash: str  # 64-bit perceptual hash, 16 lowercase hex digits
    width: int
    height: int
    original_format: str
    original_bytes: int
    created_at: datetime
    filename: str = field(repr=False)  # for photo_path only


def _view(row: Photo) -> StoredPhoto:
    return StoredPhoto(
        id=row.id,
        shopper_id=row.shopper_id,
        conversation_id=row.conversation_id,
        kind=row.kind,
        content_type=row.content_type,
        phash=row.phash,
        width=row.width,
        height=row.height,
        original_format=row.original_format,
        original_bytes=row.original_bytes,
        created_at=row.created_at,
        filename=row.filename,
    )


def _well_formed(photo_id: object) -> bool:
    return isinstance(photo_id, str) and PHOTO_ID_PATTERN.fullmatch(photo_id) is not None


def store_photo(
    session: Session, *, data: bytes, kind: str, shopper_id: str, conversation_id: str
) -> StoredPhoto:
    """Validate, re-encode and keep one upload, in the caller's transaction (flushed, not committed).

    Raises PhotoRejected (code, Chinese and English message, HTTP status) for anything refused. The
    stored file goes away again unless the caller's transaction commits: a rejected upload or a
    rolled-back transaction leaves neither a row nor a file behind.
    """
    from bot.evidence.service import store_photo as take_in  # Pillow and imagehash only where photos arrive

    return _view(take_in(session, data=data, kind=kind, shopper_id=shopper_id, conversation_id=conversation_id))


def get_photo(session: Session, photo_id: str) -> StoredPhoto | None:
    """One photo, or None (also for anything that is not a well-formed photo id)."""
    if not _well_formed(photo_id):
        return None
    row = session.get(Photo, photo_id)
    return None if row is None else _view(row)


def shopper_photos(session: Session, *, shopper_id: str, photo_ids: Iterable[str]) -> dict[str, StoredPhoto]:
    """Those of `photo_ids` that exist and were sent by `shopper_id`, by id; what a missing one means
    is the caller's to decide."""
    ids = sorted({i for i in photo_ids if _well_formed(i)})
    if not ids:
        return {}
    rows = session.execute(select(Photo).where(Photo.id.in_(ids), Photo.shopper_id == shopper_id)).scalars()
    return {row.id: _view(row) for row in rows}


def photo_path(photo: StoredPhoto) -> Path:
    """Where the stored JPEG of a photo lives (refuses names that could leave the photo folder)."""
    if not _FILENAME.fullmatch(photo.filename or ""):
        raise ValueError(f"photo {photo.id} has an unexpected file name")
    return get_settings().photo_dir / photo.filename


def _max_distance() -> int:
    return int(load_policy()["risk"]["photo_hash_max_distance"])


def hash_bands(phash: str) -> tuple[int, ...]:
    """The index keys of a perceptual hash: BANDS integers that a table of photos in use keeps beside the hash,
    each in its own indexed column, so that `near_duplicate_keys` finds near copies without reading every row."""
    return bands(phash)


def near_duplicate_keys(photos: Iterable[StoredPhoto]) -> list[frozenset[int]]:
    """For each band, the keys under which a near copy of any of `photos` must be filed: a row whose band i is
    in the i-th set for some i is a candidate, and every photo within policy distance is among the candidates
    (multi-index hashing, bot/evidence/phash.py). Pass the candidates' (id, hash) pairs to `near_duplicates`."""
    keys: list[set[int]] = [set() for _ in range(BANDS)]
    for photo in photos:
        for band, values in zip(keys, band_probes(photo.phash, _max_distance()), strict=True):
            band |= values
    return [frozenset(band) for band in keys]


def near_duplicates(photos: Iterable[StoredPhoto], used: Iterable[tuple[str, str]]) -> list[str]:
    """Ids of `photos` showing the same picture as one of `used`, (photo id, phash) pairs of photos already
    in use elsewhere; a photo never matches its own id. "Same" is policy `risk.photo_hash_max_distance`
    bits of perceptual hash apart at most; order follows `photos`. `used` need only hold the candidates that
    `near_duplicate_keys` selects."""
    candidates = list(photos)
    if not candidates:
        return []
    max_distance = _max_distance()
    in_use = [(pid, as_int(ph)) for pid, ph in used]  # parsed once: a photo may have hundreds of candidates
    return [
        photo.id
        for photo, value in ((p, as_int(p.phash)) for p in candidates)
        if any(pid != photo.id and (value ^ other).bit_count() <= max_distance for pid, other in in_use)
    ]
