"""Approximate training progress, read from the log `rasa train` writes (component hooks and tqdm epoch bars)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

# Seconds each component took on two shared cores (Nov 2026, 30 intents). Only used to weigh the progress bar,
# so that the slow components (TEDPolicy now; DIET when a pipeline uses it) take most of the bar; unknown
# components weigh one second.
TYPICAL_SECONDS = {"DIETClassifier": 130.0, "TEDPolicy": 16.0, "ResponseSelector": 8.0, "CRFEntityExtractor": 3.0,
                   "LinearIntentClassifier": 3.0}

STARTED = re.compile(r"Starting to train component '(\w+)'")
FINISHED = re.compile(r"(?:Finished training|Restored) component '(\w+)'")
EPOCH = re.compile(r"Epochs:\s*\d+%\|[^|]*\|\s*(\d+)/(\d+)")
SAVED = "Your Rasa model is trained and saved"
NOT_TRAINED = {"FallbackClassifier"}  # no training step, so the log never mentions it


@dataclass(frozen=True)
class Progress:
    percent: float  # of the training, 0-100
    phase: str


def components_of(config_path: Path) -> list[str]:
    """Class names of the pipeline and policy components, as the training log names them."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    entries = (config.get("pipeline") or []) + (config.get("policies") or [])
    names = [str(entry["name"]).rsplit(".", 1)[-1] for entry in entries]
    return [name for name in names if name not in NOT_TRAINED]


def parse(log_text: str, components: list[str]) -> Progress:
    """Where a `rasa train` run is, from its log so far."""
    if SAVED in log_text:
        return Progress(100.0, "model saved")
    weight = {name: TYPICAL_SECONDS.get(name, 1.0) for name in components}
    total = sum(weight.get(name, 1.0) for name in components) or 1.0
    done = 0.0
    finished = 0
    current: str | None = None
    current_start = 0
    for match in re.finditer(f"{STARTED.pattern}|{FINISHED.pattern}", log_text):
        started_name, finished_name = match.group(1), match.group(2)
        if started_name:
            current, current_start = started_name, match.end()
        else:
            done += weight.get(finished_name, 1.0)
            finished += 1
            current = None
    if current is None and finished == 0:
        return Progress(0.0, "validating the training data")
    if current is None and finished >= len(components):
        return Progress(99.0, "saving the model")
    phase = f"{finished} of {len(components)} components trained"
    if current is not None:
        epochs = [m.groups() for m in EPOCH.finditer(log_text, current_start)]
        fraction = 0.0
        if epochs:
            epoch, of = (int(x) for x in epochs[-1])
            fraction = epoch / of if of else 0.0
            phase = f"training {current}, epoch {epoch}/{of} ({phase})"
        else:
            phase = f"training {current} ({phase})"
        done += weight.get(current, 1.0) * fraction
    return Progress(min(99.0, round(100.0 * done / total, 1)), phase)
