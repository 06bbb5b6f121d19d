"""The `supervise` fixture: `python -m bot.supervise` on a Procfile of dummy processes, every one stopped afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.test_supervisor import Run


@pytest.fixture
def supervise(tmp_path: Path) -> Iterator[Callable[..., Run]]:
    runs: list[Run] = []

    def start(procfile: dict[str, str], *options: str, port: int | None = None) -> Run:
        runs.append(Run(tmp_path, procfile, *options, port=port))
        return runs[-1]

    yield start
    for run in runs:
        run.stop()
