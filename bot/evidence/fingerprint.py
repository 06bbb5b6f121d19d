"""A photo's fingerprints, from its pixels: what survives a 职业退货's edits (crop, resize, re-compression, a few
degrees of rotation, brightness, a screenshot inside a chat app) and still tells two shots of one product apart.

- `normalise`: the picture without flat borders and UI bars (a screenshot's status, title and input bars, the page
  around the photo), trimmed from the edges inward, rows then columns, until nothing flat is left at an edge.
- `full_hash`: the 64-bit pHash of the normalised picture (imagehash's pHash; a photo without flat edges keeps the
  hash it had before normalising existed, so hashes stored earlier still compare).
- `centre_hash`: the pHash of the normalised picture's centre (CENTRE_MARGIN cut from every side). A crop of up to
  that margin per side still holds all of it.
- `probe_hashes`: the query side of the crop and rotation match. For a picture that may be an edited copy, the pHash of
  where the original's centre would lie under each guess of the edit: every crop of CROP_GRID per side, each turned
  by one of ANGLES, cut from the normalised picture and from the picture as it is. The best guess is within a few
  bits of the original's centre hash.
- `shows_centre_of`: the check of a candidate the index found that way, on pixels: two shots of one product can have
  centre hashes a few bits apart (same object, similar framing) but their pixels do not correlate as a copy's do.

benchmarks/fraud.py measures both sides (copies caught per edit, false matches between shots of one product).
Internal to the evidence store; everything else calls `bot.evidence.store`.
"""

from __future__ import annotations

import itertools

import numpy as np
from PIL import Image
from scipy.fftpack import dct

CENTRE_MARGIN = 0.12
CROP_GRID = (0.0, 0.06, 0.12)  # guesses of the part cut from each side, up to CENTRE_MARGIN
ANGLES = (-3.5, 0.0, 3.5)  # guesses of the turn, degrees; a guess covers about ±2° around it
FLAT_TOLERANCE = 1  # grey levels from the row's median that still count as flat
FLAT_SHARE = 0.6  # a row (column) at least this flat is a border or a UI bar, even with a few icons on it
WORK_SIDE = 160  # probes are cut from a thumbnail this size: the 32-pixel hash input loses nothing
CHECK_SIDE = 24  # side of the grey thumbnails compared pixel by pixel in `shows_centre_of`


def _dct_hash(gray32: np.ndarray) -> str:
    """imagehash.phash of a 32x32 grey picture: the 8x8 lowest frequencies against their median, 16 hex digits."""
    low = dct(dct(gray32, axis=0), axis=1)[:8, :8]
    bits = (low > np.median(low)).flatten()
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


def _hash_of(img: Image.Image) -> str:
    gray = img.convert("L").resize((32, 32), Image.Resampling.LANCZOS)
    return _dct_hash(np.asarray(gray, dtype=np.float64))


def _flat(lines: np.ndarray) -> np.ndarray:
    median = np.median(lines, axis=1, keepdims=True)
    return np.asarray((np.abs(lines - median) <= FLAT_TOLERANCE).mean(axis=1) >= FLAT_SHARE)


def normalise(img: Image.Image) -> Image.Image:
    """The picture with flat borders and UI bars trimmed; unchanged when nothing (or almost everything) is flat."""
    grey = np.asarray(img.convert("L"), dtype=np.int16)
    box = (0, grey.shape[0], 0, grey.shape[1])  # top, bottom, left, right
    for _ in range(4):  # a bar trimmed from the rows can leave flat columns beside the photo, and back
        top, bottom, left, right = box
        rows = np.flatnonzero(~_flat(grey[top:bottom, left:right]))
        if rows.size == 0:
            return img
        top, bottom = top + int(rows[0]), top + int(rows[-1]) + 1
        cols = np.flatnonzero(~_flat(grey[top:bottom, left:right].T))
        if cols.size == 0:
            return img
        new = (top, bottom, left + int(cols[0]), left + int(cols[-1]) + 1)
        if new == box:
            break
        box = new
    top, bottom, left, right = box
    if bottom - top < 16 or right - left < 16:
        return img
    return img.crop((left, top, right, bottom))


def _views(img: Image.Image) -> list[Image.Image]:
    """Grey thumbnails the probes are cut from: the normalised picture, and the picture as it is (a brightened or
    darkened copy can lose or gain a flat edge that the original did not have)."""
    views = []
    for view in (normalise(img), img):
        small = view.convert("L")
        small.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BILINEAR)
        views.append(small)
    return views if views[0].size != views[1].size else views[:1]


def _cut(img: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    w, h = img.size
    left, top, right, bottom = box
    return img.crop((round(left * w), round(top * h), round(right * w), round(bottom * h)))


def _hash_region(region: Image.Image) -> str:
    return _dct_hash(np.asarray(region.resize((32, 32), Image.Resampling.BILINEAR), dtype=np.float64))


def centre_region(img: Image.Image) -> Image.Image:
    m = CENTRE_MARGIN
    return _cut(_views(img)[0], (m, m, 1 - m, 1 - m))


def full_hash(img: Image.Image) -> str:
    return _hash_of(normalise(img))


def centre_hash(img: Image.Image) -> str:
    return _hash_region(centre_region(img))


def _probe_regions(img: Image.Image) -> list[Image.Image]:
    """Where the original's centre lies in `img` under each guess of crop (per side) and turn."""
    m, boxes = CENTRE_MARGIN, []
    for left, right, top, bottom in itertools.product(CROP_GRID, repeat=4):
        width, height = 1 - left - right, 1 - top - bottom
        boxes.append(((m - left) / width, (m - top) / height, (1 - m - left) / width, (1 - m - top) / height))
    turned = [view.rotate(angle, resample=Image.Resampling.BILINEAR) if angle else view
              for view in _views(img) for angle in ANGLES]
    return [_cut(view, box) for view in turned for box in boxes]


def probe_hashes(img: Image.Image) -> frozenset[str]:
    return frozenset(_hash_region(region) for region in _probe_regions(img))


def _pattern(region: Image.Image) -> np.ndarray:
    values = np.asarray(region.resize((CHECK_SIDE, CHECK_SIDE), Image.Resampling.BILINEAR), dtype=np.float64)
    values = values.ravel() - values.mean()
    return np.asarray(values / (np.linalg.norm(values) or 1.0))


def shows_centre_of(copy: Image.Image, original: Image.Image, *, max_distance: int, min_correlation: float) -> bool:
    """The check on a candidate that the index found through the centre hash: some guess of the edit whose hash is
    within `max_distance` bits of the original's centre also matches it pixel for pixel (normalised correlation of
    CHECK_SIDE-pixel grey thumbnails at least `min_correlation`). Two shots of one product can share a centre hash
    within a few bits (same object, similar framing) but not their pixels: backgrounds, light and noise differ."""
    target_region = centre_region(original)
    target, target_hash = _pattern(target_region), int(_hash_region(target_region), 16)
    for region in _probe_regions(copy):
        near = (int(_hash_region(region), 16) ^ target_hash).bit_count() <= max_distance
        if near and float(_pattern(region) @ target) >= min_correlation:
            return True
    return False
