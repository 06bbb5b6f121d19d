"""The after-sales policy (evidence per case, remedies, risk, photo limits), read from data/policy.yml."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.rasa_protocol import PHOTO_KINDS
from bot.settings import ROOT

POLICY_PATH = ROOT / "data" / "policy.yml"
CASE_TYPES = ("damaged", "missing_item", "wrong_item", "not_as_described", "not_delivered")


@lru_cache(maxsize=4)
def load_policy(path: Path = POLICY_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        policy = yaml.safe_load(fh)
    unknown = set(policy["evidence"]) - set(CASE_TYPES)
    if unknown:
        raise ValueError(f"policy.yml names unknown case types: {sorted(unknown)}")
    for case, kinds in policy["evidence"].items():
        bad = set(kinds) - set(PHOTO_KINDS)
        if bad:
            raise ValueError(f"policy.yml: case {case} asks for unknown photo kinds {sorted(bad)}")
    return policy


def evidence_for(case_type: str) -> list[str]:
    """The photo kinds a case type needs, in the order the bot asks for them."""
    return list(load_policy()["evidence"].get(case_type, []))
