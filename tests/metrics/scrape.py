"""Reading a service's /metrics as Prometheus would, and the series the Grafana dashboard queries."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.settings import ROOT

DASHBOARD = ROOT / "deploy" / "grafana" / "aftersales-dashboard.json"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
_SERIES = re.compile(r"\b(aftersales_[a-z0-9_]+)(\{[^}]*\})?")
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")


@dataclass(frozen=True)
class Scrape:
    """The samples of one scrape: (sample name, labels) -> value."""

    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples called `name` that carry all of `labels`."""
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items() if n == name and wanted <= ls)

    def labels(self, name: str) -> list[dict[str, str]]:
        return [dict(ls) for (n, ls) in self.samples if n == name]

    @property
    def names(self) -> set[str]:
        return {n for n, _ in self.samples}


def parse(text: str) -> Scrape:
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = float(sample.value)
    return Scrape(samples)


def scrape(base_url: str, token: str) -> Scrape:
    resp = httpx.get(f"{base_url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain"), resp.headers["content-type"]
    return parse(resp.text)


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text(encoding="utf-8")))


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])  # a collapsed row keeps its panels inside


def queried_series() -> dict[str, set[str]]:
    """Every series name the dashboard's expressions read, with the label names their matchers use."""
    found: dict[str, set[str]] = {}
    for panel in panels(dashboard()):
        for target in panel.get("targets", []):
            for name, matchers in _SERIES.findall(target["expr"]):
                found.setdefault(name, set()).update(_MATCHER.findall(matchers or ""))
    return found
