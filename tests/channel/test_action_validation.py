"""Rasa still refuses a malformed action-server reply after the compiled validator replaced its own."""

from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from bot.channel.trusted import TrustedInput

GOOD = {"events": [{"event": "slot", "timestamp": None, "name": "order_id", "value": "O1001"},
                   {"event": "active_loop", "name": "case_form"}],
        "responses": [{"text": "请拍一张快递外包装整个图",
                       "buttons": [{"title": "转人工", "payload": "/request_human"}]}]}


@pytest.fixture
def action() -> RemoteAction:
    TrustedInput.from_credentials(None)  # what Rasa does at start; installs the validator
    return RemoteAction("validate_case_form", EndpointConfig("http://127.0.0.1:5055/webhook"))


def test_the_channel_installs_the_compiled_validator(action: RemoteAction) -> None:
    assert action._validate_action_result.__func__.__module__ == "bot.channel.action_validation"  # type: ignore[attr-defined]


def test_a_well_formed_reply_passes(action: RemoteAction) -> None:
    assert action._validate_action_result(GOOD) is True


@pytest.mark.parametrize("bad", [
    {"events": [{"name": "order_id"}]},  # an event without its type
    {"events": [{"event": "user", "text": 3}]},  # a user event whose text is a number
    {"events": "slot"},
    {"responses": ["请拍照"]},
])
def test_a_malformed_reply_is_refused_with_rasas_message(action: RemoteAction, bad: dict) -> None:
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result(bad)
    with pytest.raises(jsonschema.ValidationError):  # and Rasa's own check agrees
        jsonschema.validate(bad, RemoteAction.action_response_format_spec())
