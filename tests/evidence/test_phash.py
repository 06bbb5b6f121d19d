"""Hamming distance between perceptual hashes."""

from __future__ import annotations

import pytest

from bot.evidence.phash import hamming, same_photo


def test_hamming_counts_differing_bits():
    assert hamming("0" * 16, "0" * 16) == 0
    assert hamming("0" * 16, "f" * 16) == 64
    assert hamming("000000000000000f", "0000000000000001") == 3


def test_same_photo_uses_the_policy_distance():
    assert same_photo("00000000000000ff", "000000000000003f", max_distance=2)
    assert not same_photo("00000000000000ff", "000000000000000f", max_distance=3)


@pytest.mark.parametrize("bad", ["", "abc", "g" * 16, "F" * 16, "0" * 17])
def test_malformed_hashes_are_refused(bad):
    with pytest.raises(ValueError):
        hamming(bad, "0" * 16)
