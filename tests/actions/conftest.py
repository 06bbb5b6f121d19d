"""Action tests: real trackers and dispatcher, against a real refund service on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.settings import ROOT, get_settings
from tests.e2e.stack import Stack

CONVERSATION = "c_actions"
SENDER = f"s1:{CONVERSATION}"


@pytest.fixture(scope="session")
def refund_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("refunds")
    stack = Stack(workdir=workdir, database_url=f"sqlite:///{workdir / 'actions.sqlite3'}")
    stack.start(names=("refunds",))
    yield stack
    stack.stop()


@pytest.fixture
def services(refund_service: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """Point this process's settings (and so the actions' clients) at the running refund service."""
    from actions import services as action_services

    for key in ("BOT_SECRET", "BOT_VAR_DIR", "DATABASE_URL", "REFUNDS_URL", "GATEWAY_URL"):
        monkeypatch.setenv(key, refund_service.env[key])
    get_settings.cache_clear()
    action_services.refunds.cache_clear()
    yield refund_service
    get_settings.cache_clear()
    action_services.refunds.cache_clear()


def tracker(
    *,
    slots: dict[str, Any] | None = None,
    intent: str = "inform",
    entities: list[dict[str, Any]] | None = None,
    text: str = "",
    events: list[dict[str, Any]] | None = None,
    active_loop: str | None = None,
    sender: str = SENDER,
) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities or []}
    return Tracker(
        sender_id=sender,
        slots={"requested_slot": None, **(slots or {})},
        latest_message=latest,
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def texts(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


DOMAIN: dict[str, Any] = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
