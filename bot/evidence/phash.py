"""Comparing perceptual hashes: how many bits two photos' 64-bit phashes differ in."""

from __future__ import annotations

import re

_HEX16 = re.compile(r"[0-9a-f]{16}")


def hamming(a: str, b: str) -> int:
    """Bits that differ between two 16-hex-digit perceptual hashes (ValueError if malformed)."""
    if not (_HEX16.fullmatch(a) and _HEX16.fullmatch(b)):
        raise ValueError("perceptual hashes must be 16 lowercase hex digits")
    return (int(a, 16) ^ int(b, 16)).bit_count()


def same_photo(a: str, b: str, max_distance: int) -> bool:
    """Whether two hashes are close enough to count as the same picture (policy: photo_hash_max_distance)."""
    return hamming(a, b) <= max_distance


# Multi-index hashing: the 64 bits are cut into BANDS bands (BAND_WIDTHS bits each, most significant first). If two
# hashes differ in at most d bits, one band at least differs in at most d // BANDS bits (pigeonhole), so looking up
# each band's value and its near values finds every match; the exact distance is then checked on those few
# candidates only. Three bands fit the policy distance (6): each band's value and its neighbours within 2 bits are
# 254 keys of 22 bits, and a random table of a million hashes holds about 0.25 rows per key of that width, so a
# photo has a few hundred candidates; four 16-bit bands would give over a thousand (benchmarks/photo_reuse.py).
BAND_WIDTHS = (22, 21, 21)
BANDS = len(BAND_WIDTHS)
BAND_OFFSETS = tuple(64 - sum(BAND_WIDTHS[: i + 1]) for i in range(BANDS))  # each band's lowest bit
# A crop or turn is looked up through probe hashes (bot/evidence/fingerprint.py: a couple of hundred guesses of the
# edit per photo), each under its bands' values and their neighbours within one bit (3 // BANDS): no pigeonhole
# guarantee as above, the best guesses are a few bits from the original and so share a band with it within a bit
# (benchmarks/fraud.py measures what that catches); the full comparison then checks each candidate.
PROBE_DISTANCE = BANDS


def bands(phash: str) -> tuple[int, ...]:
    """The hash's bands as unsigned integers, most significant first (ValueError if malformed)."""
    value = as_int(phash)
    cuts = zip(BAND_OFFSETS, BAND_WIDTHS, strict=True)
    return tuple((value >> offset) & ((1 << width) - 1) for offset, width in cuts)


def band_probes(phash: str, max_distance: int) -> list[frozenset[int]]:
    """For each band, the values a hash within `max_distance` bits of `phash` may hold in it, when that band is
    its closest one: the band's own value and every value within max_distance // BANDS flipped bits."""
    radius = max(0, max_distance) // BANDS
    probes = []
    for value, width in zip(bands(phash), BAND_WIDTHS, strict=True):
        found = {value}
        frontier = {value}
        for _ in range(radius):
            frontier = {v ^ (1 << bit) for v in frontier for bit in range(width)} - found
            found |= frontier
        probes.append(frozenset(found))
    return probes


def as_int(phash: str) -> int:
    """The hash as a 64-bit integer (ValueError if malformed), to compare many pairs without parsing each time."""
    if not _HEX16.fullmatch(phash):
        raise ValueError("perceptual hashes must be 16 lowercase hex digits")
    return int(phash, 16)
