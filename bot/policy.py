"""The after-sales policy (evidence per case, remedies, risk, photo limits, systemic-issue alerts), read from
data/policy.yml."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class AlertRule:
    """When reports of one case type on one SKU (or merchant) are a systemic issue (policy.yml `alerts:`)."""

    window_hours: int  # the recent window counted
    baseline_days: int  # the history before the window that gives the usual rate
    min_reports: int  # at least this many reports in the window
    ratio: float  # and at least this many times the usual number per window
    baseline_floor: float  # the usual number per window is never taken below this


def alert_rule(path: Path = POLICY_PATH) -> AlertRule:
    """The systemic-issue alert thresholds; a missing or impossible value is a ValueError, not a silent default."""
    raw = load_policy(path).get("alerts")
    if not isinstance(raw, dict):
        raise ValueError("policy.yml has no alerts: section")
    try:
        rule = AlertRule(
            window_hours=int(raw["window_hours"]),
            baseline_days=int(raw["baseline_days"]),
            min_reports=int(raw["min_reports"]),
            ratio=float(raw["ratio"]),
            baseline_floor=float(raw["baseline_floor"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"policy.yml alerts: {exc!r}") from exc
    if rule.window_hours <= 0 or rule.baseline_days * 24 < rule.window_hours or rule.min_reports < 1:
        raise ValueError("policy.yml alerts: window_hours > 0, baseline_days covering a window, min_reports >= 1")
    if rule.ratio < 1 or rule.baseline_floor <= 0:
        raise ValueError("policy.yml alerts: ratio >= 1 and baseline_floor > 0")
    return rule
