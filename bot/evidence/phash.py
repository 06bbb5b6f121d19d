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


# Multi-index hashing: the 64 bits are cut into BANDS bands of BAND_BITS bits. If two hashes differ in at most d
# bits, one band at least differs in at most d // BANDS bits (pigeonhole), so looking up each band's value and its
# near values finds every match; the exact distance is then checked on those few candidates only.
BANDS = 4
BAND_BITS = 64 // BANDS
_BAND_MASK = (1 << BAND_BITS) - 1


def bands(phash: str) -> tuple[int, ...]:
    """The hash's bands as unsigned integers, most significant first (ValueError if malformed)."""
    if not _HEX16.fullmatch(phash):
        raise ValueError("perceptual hashes must be 16 lowercase hex digits")
    value = int(phash, 16)
    return tuple((value >> (BAND_BITS * (BANDS - 1 - i))) & _BAND_MASK for i in range(BANDS))


def band_probes(phash: str, max_distance: int) -> list[frozenset[int]]:
    """For each band, the values a hash within `max_distance` bits of `phash` may hold in it, when that band is
    its closest one: the band's own value and every value within max_distance // BANDS flipped bits."""
    radius = max(0, max_distance) // BANDS
    probes = []
    for value in bands(phash):
        found = {value}
        frontier = {value}
        for _ in range(radius):
            frontier = {v ^ (1 << bit) for v in frontier for bit in range(BAND_BITS)} - found
            found |= frontier
        probes.append(frozenset(found))
    return probes
