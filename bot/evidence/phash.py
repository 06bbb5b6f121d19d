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
