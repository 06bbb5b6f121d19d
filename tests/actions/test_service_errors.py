"""When the refund service is down or answers a status an action does not expect, every action still answers
the shopper (in Chinese) and logs what happened (in English)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk import Action
from rasa_sdk.executor import CollectingDispatcher

from actions import messages
from actions.ask import ActionAskLineId, ActionAskOrderId, ActionAskQuantity
from actions.case_form import ValidateCaseForm
from actions.complaints import ActionRecordComplaint
from actions.greet import ActionGreet
from actions.handoff import ActionOpenAppeal
from actions.remedies import ActionCreateRefund, ActionIssueCoupon, ActionOfferRemedy
from actions.status import ActionRefundStatus
from bot.settings import get_settings
from tests.actions.conftest import DOMAIN, slot_events, texts, tracker
from tests.e2e.stack import Stack

CASE = {"case_type": "damaged", "order_id": "O1001", "line_id": "O1001-1", "quantity": 1.0,
        "item_name": "晨光中性笔 0.5mm 黑色", "remedy_offered": True,
        "photo_package": "a" * 32, "photo_label": "b" * 32, "photo_items": "c" * 32}

# (action, slots, latest message): each call reaches the refund service
CALLS: list[tuple[Action, dict[str, Any], dict[str, Any]]] = [
    (ActionGreet(), {}, {"intent": "greet", "entities": [{"entity": "order_id", "value": "O1001"}]}),
    (ActionAskOrderId(), {"case_type": "damaged"}, {}),
    (ActionAskLineId(), {"case_type": "damaged", "order_id": "O1001"}, {}),
    (ActionAskQuantity(), {"case_type": "damaged", "order_id": "O1001", "line_id": "O1001-1"}, {}),
    (ActionOfferRemedy(), {k: v for k, v in CASE.items() if k != "remedy_offered"}, {}),
    (ActionCreateRefund(), CASE, {"intent": "choose_refund"}),
    (ActionIssueCoupon(), CASE, {"intent": "choose_coupon"}),
    (ActionRefundStatus(), {}, {"intent": "ask_refund_status"}),
    (ActionOpenAppeal(), {}, {"intent": "appeal"}),
    (ActionRecordComplaint(), {}, {"intent": "complain", "text": "太差了"}),
    (ValidateCaseForm(), {"case_type": "damaged", "requested_slot": "order_id"},
     {"entities": [{"entity": "order_id", "value": "O1001"}], "text": "O1001"}),
    (ValidateCaseForm(), {**CASE, "remedy_offered": None, "photo_items": "d" * 32, "requested_slot": "photo_items"},
     {"intent": "upload_photo", "events": [{"event": "slot", "name": "photo_items", "value": "d" * 32}]}),
]


def _name(value: object) -> str | None:
    return value.name() if isinstance(value, Action) else None


@pytest.fixture
def refunds_down(refund_service: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Nothing listens where the refund service should be."""
    yield from _pointed(monkeypatch, {**refund_service.env, "REFUNDS_URL": "http://127.0.0.1:9"})


@pytest.fixture
def refunds_refusing(refund_service: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The real refund service, refusing our tokens (401): a status no action expects."""
    yield from _pointed(monkeypatch, {**refund_service.env, "BOT_SECRET": "not-the-services-secret"})


def _pointed(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Iterator[None]:
    from actions import services as action_services

    for key in ("BOT_SECRET", "BOT_VAR_DIR", "DATABASE_URL", "REFUNDS_URL", "GATEWAY_URL"):
        monkeypatch.setenv(key, env[key])
    get_settings.cache_clear()
    action_services.refunds.cache_clear()
    yield
    get_settings.cache_clear()
    action_services.refunds.cache_clear()


@pytest.mark.parametrize("trouble", ["refunds_down", "refunds_refusing"])
@pytest.mark.parametrize(("action", "slots", "latest"), CALLS, ids=_name)
async def test_every_action_answers_when_the_refund_service_fails(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture, trouble: str,
    action: Action, slots: dict[str, Any], latest: dict[str, Any],
) -> None:
    request.getfixturevalue(trouble)
    dispatcher = CollectingDispatcher()
    with caplog.at_level(logging.WARNING):
        events = await action.run(dispatcher, tracker(slots=slots, **latest), DOMAIN)
    assert messages.SERVICE_DOWN in texts(dispatcher)
    assert messages.PHOTO_NOT_USABLE not in texts(dispatcher)  # the photo is not to blame
    assert any(action.name() in r.getMessage() and "refund service" in r.getMessage() for r in caplog.records)
    if isinstance(action, ValidateCaseForm):  # the question stays open: a slot is answered, so the form runs on
        assert slot_events(events)[slots["requested_slot"]] is None


async def test_the_outage_is_told_once_per_turn(refunds_down: None) -> None:
    """The form's validation said it already; the question that follows in the same turn does not repeat it."""
    said = [{"event": "user", "text": "O1001"}, {"event": "bot", "text": messages.SERVICE_DOWN}]
    dispatcher = CollectingDispatcher()
    await ActionAskOrderId().run(dispatcher, tracker(slots={"case_type": "damaged"}, events=said), DOMAIN)
    assert dispatcher.messages == []
