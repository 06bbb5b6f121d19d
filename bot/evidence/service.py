"""Taking a photo in: decode an upload safely, keep a clean re-encoded JPEG and its perceptual hash.

Internal to the evidence store; other packages call `bot.evidence.store`.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError
from sqlalchemy import event
from sqlalchemy.orm import Session

from bot.evidence.fingerprint import centre_hash, full_hash
from bot.evidence.messages import PhotoRejected, rejection
from bot.evidence.models import Photo
from bot.policy import load_policy
from bot.rasa_protocol import PHOTO_KINDS
from bot.settings import get_settings

__all__ = ["PhotoRejected", "store_photo"]  # store_photo raises PhotoRejected

log = logging.getLogger(__name__)

_PENDING_FILES = "evidence_uncommitted_files"  # key in Session.info
STORED_CONTENT_TYPE = "image/jpeg"
JPEG_QUALITY = 85


@dataclass(frozen=True)
class _Limits:
    max_bytes: int
    max_pixels: int
    max_side: int
    formats: tuple[str, ...]
    stored_max_side: int

    @classmethod
    def from_policy(cls) -> _Limits:
        p = load_policy()["photos"]
        return cls(
            max_bytes=int(p["max_bytes"]),
            max_pixels=int(p["max_pixels"]),
            max_side=int(p["max_side"]),
            formats=tuple(str(f).upper() for f in p["formats"]),
            stored_max_side=int(p["stored_max_side"]),
        )


def _guard_pillow(limits: _Limits) -> None:
    """Pillow's process-wide safety switches: never load truncated files, bomb check at our limit."""
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    if Image.MAX_IMAGE_PIXELS is None or limits.max_pixels < Image.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = limits.max_pixels  # only ever lowered, never raised


def _open_header(data: bytes, limits: _Limits) -> Image.Image:
    """Parse only the header (no pixel buffer yet) and enforce format and dimension limits."""
    try:
        img = Image.open(io.BytesIO(data), formats=list(limits.formats))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # warning: if -W error
        raise rejection("too_many_pixels") from exc
    except UnidentifiedImageError as exc:
        raise rejection("unsupported_format") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # a known format with a broken header
        raise rejection("corrupt_image") from exc
    if img.format not in limits.formats:  # belt and braces: `formats=` already restricts the plugins
        img.close()
        raise rejection("unsupported_format")
    width, height = img.size
    if width <= 0 or height <= 0:
        img.close()
        raise rejection("corrupt_image")
    if width > limits.max_side or height > limits.max_side or width * height > limits.max_pixels:
        img.close()
        raise rejection("too_many_pixels")
    return img


def _decode_clean(img: Image.Image, limits: _Limits) -> Image.Image:
    """Decode every pixel (truncated files fail here), upright, RGB, scaled down, no metadata."""
    try:
        img.load()
        img = ImageOps.exif_transpose(img)
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            rgba = img.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            img = flat
        else:
            img = img.convert("RGB")
    except Image.DecompressionBombError as exc:
        raise rejection("too_many_pixels") from exc
    except (OSError, SyntaxError, ValueError, EOFError, ZeroDivisionError) as exc:
        raise rejection("corrupt_image") from exc
    img.thumbnail((limits.stored_max_side, limits.stored_max_side), Image.Resampling.LANCZOS)
    img.info.clear()  # JPEG save would otherwise carry the original's comment (and more) across
    return img


def _encode_jpeg(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def _write_new_file(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def store_photo(session: Session, *, data: bytes, kind: str, shopper_id: str, conversation_id: str) -> Photo:
    """Validate, re-encode and keep one upload; adds (and flushes) its Photo row in the caller's session.

    Returns the row itself: for `bot.evidence.store`, which hands the rest of the system a StoredPhoto.

    The file is removed again if the caller's transaction does not commit, so a rejected upload or a
    rolled-back transaction leaves neither a row nor a file behind.
    """
    if kind not in PHOTO_KINDS:
        raise rejection("unknown_kind")
    limits = _Limits.from_policy()
    if len(data) > limits.max_bytes:
        raise rejection("too_large", max_mb=limits.max_bytes // (1024 * 1024))
    if not data:
        raise rejection("empty_file")
    _guard_pillow(limits)

    header = _open_header(data, limits)
    original_format = str(header.format)
    try:
        img = _decode_clean(header, limits)
    finally:
        header.close()
    encoded = _encode_jpeg(img)
    phash = full_hash(img)  # after trimming flat borders and UI bars: a screenshot hashes as the photo it shows

    photo_id = secrets.token_hex(16)
    filename = f"{photo_id}.jpg"
    path = get_settings().photo_dir / filename
    _write_new_file(path, encoded)
    session.info.setdefault(_PENDING_FILES, []).append(path)
    photo = Photo(
        id=photo_id,
        shopper_id=shopper_id,
        conversation_id=conversation_id,
        kind=kind,
        filename=filename,
        content_type=STORED_CONTENT_TYPE,
        phash=phash,
        centre_hash=centre_hash(img),
        width=img.width,
        height=img.height,
        original_format=original_format,
        original_bytes=len(data),
    )
    try:
        session.add(photo)
        session.flush()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return photo


@event.listens_for(Session, "after_commit")
def _files_committed(session: Session) -> None:
    session.info.pop(_PENDING_FILES, None)


@event.listens_for(Session, "after_transaction_end")
def _drop_uncommitted_files(session: Session, transaction: Any) -> None:
    """A transaction that ended without commit (rollback, close) must not leave its files behind."""
    if transaction.parent is not None:
        return
    for path in session.info.pop(_PENDING_FILES, []):
        try:
            path.unlink(missing_ok=True)
        except OSError:
            log.warning("could not remove uncommitted photo file %s", path)
