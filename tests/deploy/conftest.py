"""The `topology` fixture: deploy/'s multi-machine topology started once per module as local processes."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from bot.settings import ROOT
from tests.conftest import POSTGRES
from tests.deploy.topology import Topology, nginx_binary


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    """Two replicas of every role behind nginx fronts, on PostgreSQL and one Redis (tests/deploy/topology.py)."""
    if nginx_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs nginx for tests/deploy (bin/test installs it: apt-get install nginx)")
        pytest.skip("nginx is not installed: the topology's stand-in for Kubernetes Services (apt-get install nginx)")
    if not POSTGRES:
        pytest.skip("the topology runs on PostgreSQL, which does not answer on 127.0.0.1:5432")
    if not list((ROOT / "models").glob("*.tar.gz")):
        pytest.fail("no trained model in models/: run bin/setup first (bin/test does)")
    workdir = tmp_path_factory.mktemp("topology")
    running = Topology(workdir=workdir, database_url="")
    try:
        running.start()
        yield running
    finally:
        running.stop()
        print(f"\ntopology logs: {workdir / 'logs'}")
