"""Every custom action the domain names exists in the action server, and nothing else hides there."""

from __future__ import annotations

from rasa_sdk.executor import ActionExecutor

from tests.actions.conftest import DOMAIN


def test_action_server_serves_exactly_the_domains_custom_actions() -> None:
    executor = ActionExecutor()
    executor.register_package("actions")
    assert sorted(executor.actions) == sorted(DOMAIN["actions"])
