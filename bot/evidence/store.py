"""The evidence store's one API: keep a shopper's photo, look photos up, find re-used pictures.

Everything outside `bot/evidence/` goes through here. The photos table (`models.py`), the upload pipeline
(`service.py`) and the perceptual-hash comparison (`phash.py`) belong to this package alone; callers get
`StoredPhoto` snapshots, never table rows. Importing this module stays light: Pillow, numpy and scipy are
loaded by the first `store_photo` or comparison of a photo that has a file.

Which photos back which refund is the refund service's knowledge (its `refund_photos` table keeps each
attached photo's id and hash); whether two pictures are the same is this store's, so the refund service
hands those (photo id, hash) pairs to `near_duplicates`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.evidence.messages import PhotoRejected
from bot.evidence.models import Photo
from bot.evidence.phash import BANDS, PROBE_DISTANCE, as_int, band_probes, bands
from bot.policy import load_policy
from bot.rasa_protocol import PHOTO_ID_PATTERN
from bot.settings import get_settings

__all__ = [
    "BANDS",
    "PhotoRejected",
    "ReuseKeys",
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
    centre_hash: str | None = None  # pHash of the picture's centre (fingerprint.py); None for photos kept before 0009


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
        centre_hash=row.centre_hash,
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


def _centre_distance() -> int:
    return int(load_policy()["risk"]["photo_centre_max_distance"])


def hash_bands(phash: str) -> tuple[int, ...]:
    """The index keys of a perceptual hash: BANDS integers that a table of photos in use keeps beside the hash,
    each in its own indexed column, so that `near_duplicate_keys` finds near copies without reading every row.
    The same cut serves the full hash (band0..) and the centre hash (cband0..)."""
    return bands(phash)


@lru_cache(maxsize=256)
def _probes_of(photo_id: str, filename: str) -> frozenset[str]:
    """The crop-and-turn probe hashes of a stored photo (fingerprint.py), from its file; none when the file is gone.
    Cached: scoring a refund asks for the keys and then for the comparison."""
    from bot.evidence.fingerprint import probe_hashes  # Pillow only where photos are compared

    img = _picture(filename)
    return frozenset() if img is None else probe_hashes(img)


def _picture(filename: str) -> Any:
    """A stored photo's pixels (RGB), or None when its file is not on this machine."""
    from PIL import Image

    path = get_settings().photo_dir / filename
    if not _FILENAME.fullmatch(filename) or not path.is_file():
        return None
    with Image.open(path) as img:
        return img.convert("RGB")


def _same_centre(photo: StoredPhoto, other_id: str) -> bool:
    """The pixel check of a candidate found through its centre hash (fingerprint.shows_centre_of); both files are
    needed, so a photo whose file is gone is matched by its full hash only."""
    from bot.evidence.fingerprint import shows_centre_of

    copy, original = _picture(photo.filename), _picture(f"{other_id}.jpg")  # service.py names files by photo id
    if copy is None or original is None:
        return False
    cfg = load_policy()["risk"]
    return shows_centre_of(copy, original, max_distance=int(cfg["photo_centre_max_distance"]),
                           min_correlation=float(cfg["photo_centre_min_correlation"]))


def probe_hashes(photo: StoredPhoto) -> frozenset[str]:
    """Where the centre of an original would lie in `photo` if `photo` were a cropped or turned copy of it, hashed
    under each guess of the edit (empty when the photo's file is not on this machine)."""
    return _probes_of(photo.id, photo.filename)


@dataclass(frozen=True)
class ReuseKeys:
    """Index keys under which near copies of some photos are filed: per band, the values of the full hash's bands
    (refund_photos.band0..) and of the centre hash's bands (refund_photos.cband0..)."""

    full: list[frozenset[int]]
    centre: list[frozenset[int]]


def near_duplicate_keys(photos: Iterable[StoredPhoto]) -> ReuseKeys:
    """The keys under which a near copy of any of `photos` must be filed: a row whose band i is in `full[i]`, or whose
    centre band i is in `centre[i]`, for some i, is a candidate. Every photo within policy distance of the full hash
    is among the candidates (multi-index hashing, bot/evidence/phash.py); so is an original whose centre hash shares
    one band, within a bit, with one of a photo's probe hashes. Pass the candidates to `near_duplicates`."""
    full: list[set[int]] = [set() for _ in range(BANDS)]
    centre: list[set[int]] = [set() for _ in range(BANDS)]
    for photo in photos:
        for band, values in zip(full, band_probes(photo.phash, _max_distance()), strict=True):
            band |= values
        for probe in probe_hashes(photo):
            for band, values in zip(centre, band_probes(probe, PROBE_DISTANCE), strict=True):
                band |= values
    return ReuseKeys(full=[frozenset(b) for b in full], centre=[frozenset(b) for b in centre])


def near_duplicates(photos: Iterable[StoredPhoto], used: Iterable[Sequence[str | None]]) -> list[str]:
    """Ids of `photos` showing the same picture as one of `used`, (photo id, phash[, centre hash]) of photos already
    in use elsewhere; a photo never matches its own id. Order follows `photos`; `used` need only hold the candidates
    that `near_duplicate_keys` selects.

    The same picture is: full hashes at most policy `risk.photo_hash_max_distance` bits apart (resized, re-compressed,
    brightened, screenshotted: the hash is taken after trimming UI bars), or a probe hash of the photo at most
    `risk.photo_centre_max_distance` bits from the other's centre hash (cropped, turned a few degrees), confirmed on
    the two files' pixels (normalised correlation at least `risk.photo_centre_min_correlation`): the check on the
    candidates the looser index lookup brought in.
    """
    candidates = list(photos)
    if not candidates:
        return []
    max_distance, centre_distance = _max_distance(), _centre_distance()
    in_use = []  # parsed once: a photo may have hundreds of candidates
    for row in used:
        pid, phash = str(row[0]), str(row[1])
        centre = row[2] if len(row) > 2 else None
        in_use.append((pid, as_int(phash), None if centre is None else as_int(str(centre))))
    found = []
    for photo in candidates:
        value = as_int(photo.phash)
        probes = [as_int(p) for p in probe_hashes(photo)]
        for pid, other, other_centre in in_use:
            if pid == photo.id:
                continue
            if (value ^ other).bit_count() <= max_distance or (
                other_centre is not None
                and any((p ^ other_centre).bit_count() <= centre_distance for p in probes)
                and _same_centre(photo, pid)
            ):
                found.append(photo.id)
                break
    return found
